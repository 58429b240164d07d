/** What one policy spends in a replay, charged event by event, day by day and move by move. */
import type { CostModel } from '../cost';
import { PLACEMENTS } from '../placements';
import { money, readFacts, type PolicyResult } from './result';
import type { PolicyState } from './types';

const DAY = 86_400_000;
const GB = 1024 ** 3;

export class Ledger {
  storage = 0;
  requests = 0;
  retrieval = 0;
  egress = 0;
  movesCost = 0;
  earlyDeletion = 0;
  moves = 0;
  /** Moves to a placement faster to the first byte: a demotion taken back shows here. */
  promotions = 0;
  /** Moves that owed early deletion at their source. */
  earlyDeletions = 0;
  bytesMoved = 0;
  readonly readsByPlacement = new Float64Array(PLACEMENTS.length);
  readonly state: PolicyState;

  constructor(
    private readonly cost: CostModel,
    n: number,
    initial: Uint8Array,
    createdAt: Float64Array,
  ) {
    this.state = {
      placement: Uint8Array.from(initial),
      placedAt: Float64Array.from(createdAt),
      lastMoveAt: new Float64Array(n).fill(NaN),
    };
  }

  read(i: number, bytes: number): void {
    const { cost } = this;
    const pi = this.state.placement[i]!;
    this.requests += cost.readReq[pi]!;
    this.retrieval += (bytes / GB) * cost.retrieval[pi]!;
    this.egress += (bytes / GB) * cost.readEgress[pi]!;
    this.readsByPlacement[pi]!++;
  }

  write(i: number): void {
    this.requests += this.cost.writeReq[this.state.placement[i]!]!;
  }

  /** Storage from `from` (or each dataset's creation, if later) to `now`, at the current placements. */
  storageUntil(from: number, now: number, size: Float64Array, createdAt: Float64Array): void {
    const pl = this.state.placement;
    for (let i = 0; i < pl.length; i++) {
      const since = Math.max(from, createdAt[i]!);
      if (since >= now) continue;
      this.storage += this.cost.storage(pl[i]!, size[i]!, (now - since) / DAY);
    }
  }

  move(i: number, to: number, sizeBytes: number, now: number): void {
    const st = this.state;
    const m = this.cost.move(st.placement[i]!, to, sizeBytes, (now - st.placedAt[i]!) / DAY);
    this.movesCost += m.transfer;
    this.earlyDeletion += m.early_deletion;
    if (m.early_deletion > 0) this.earlyDeletions++;
    if (this.cost.firstByteMs[to]! < this.cost.firstByteMs[st.placement[i]!]!) this.promotions++;
    this.moves++;
    this.bytesMoved += sizeBytes;
    st.placement[i] = to;
    st.placedAt[i] = now;
    st.lastMoveAt[i] = now;
  }

  result(name: string, description: string): PolicyResult {
    const total = this.storage + this.requests + this.retrieval + this.egress + this.movesCost + this.earlyDeletion;
    return {
      policy: name,
      description,
      total: money(total),
      storage: money(this.storage),
      requests: money(this.requests),
      retrieval: money(this.retrieval),
      egress: money(this.egress),
      moves_cost: money(this.movesCost),
      early_deletion: money(this.earlyDeletion),
      moves: this.moves,
      promotions: this.promotions,
      early_deletions: this.earlyDeletions,
      bytes_moved: this.bytesMoved,
      ...readFacts(this.readsByPlacement, this.cost),
    };
  }
}
