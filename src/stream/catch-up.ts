import type { Health } from '../platform';
import type { OffsetReader } from './types';

/** A partition's log: the first offset still there and the next one to be written. */
export interface Watermarks {
  low: number;
  high: number;
}

/**
 * Events in the log not yet applied, over every partition: from what the database has applied
 * (or the log's start, if that is later: what is gone is a gap, not pending) to the high
 * watermark. Counts partitions this process does not hold too: the database applies them all.
 */
export function unapplied(marks: ReadonlyMap<number, Watermarks>, stored: ReadonlyMap<number, number>): number {
  let n = 0;
  for (const [partition, { low, high }] of marks) n += Math.max(0, high - Math.max(stored.get(partition) ?? 0, low));
  return n;
}

/** The watermarks with each high capped at `target` (partitions not in `target` had nothing then). */
export function cappedAt(
  marks: ReadonlyMap<number, Watermarks>,
  target: ReadonlyMap<number, number>,
): Map<number, Watermarks> {
  const out = new Map<number, Watermarks>();
  for (const [p, m] of marks) out.set(p, { low: m.low, high: Math.min(m.high, target.get(p) ?? 0) });
  return out;
}

export interface CatchUpDeps {
  topic: string;
  offsets: OffsetReader;
  /** Every partition's watermarks now; undefined when they cannot be known. */
  watermarks: () => Promise<Map<number, Watermarks> | undefined>;
}

/**
 * "Ready" means the events acknowledged before this process started are applied: after a crash
 * the log may hold many (and, on Kafka, partitions a dead member still holds), and until they are
 * applied the statistics are behind. Once caught up, it stays so: later lag is normal traffic.
 */
export class CatchUp {
  private target: Map<number, number> | undefined;
  private done = false;

  constructor(private readonly deps: CatchUpDeps) {}

  /** Notes how far the log reached at start (call once connected; retried lazily if it fails). */
  async begin(): Promise<void> {
    if (this.target || this.done) return;
    const marks = await this.deps.watermarks();
    if (marks) this.target = new Map([...marks].map(([p, m]) => [p, m.high]));
  }

  /** Acknowledged events from before the start not applied yet; undefined when unknown. */
  async pending(): Promise<number | undefined> {
    if (this.done) return 0;
    await this.begin();
    const marks = this.target && (await this.deps.watermarks());
    if (!this.target || !marks) return undefined;
    const n = unapplied(cappedAt(marks, this.target), await this.deps.offsets.nextOffsets(this.deps.topic));
    if (n === 0) this.done = true;
    return n;
  }

  /** The consumer check, unless it already fails for another reason, says it is catching up. */
  async health(base: Health): Promise<Health> {
    if (base.consumer !== 'ok' || this.done) return base;
    const n = await this.pending();
    if (n === 0) return base;
    return {
      ...base,
      consumer:
        n === undefined
          ? 'catching up: how many events are pending is unknown'
          : `catching up, ${n} acknowledged events pending`,
    };
  }
}
