import type { MoveRow, MoveState } from '../../db';
import type { Logger } from '../../platform';
import type { ClaimRepository } from './claim-repository';
import { CLAIM_LOST } from './errors';

export interface MoveClaimsDeps {
  repo: ClaimRepository;
  /** This instance (INSTANCE_ID or generated). */
  instance: string;
  /** A claim lapses this long after its owner's last renewal; renewed every sixth of it. */
  ttlMs: number;
  logger: Logger;
}

/**
 * This instance's claims on moves: taken before a move runs or is recovered, renewed while it
 * runs, and a move whose claim another instance took over (this one stalled past the TTL) is
 * aborted with CLAIM_LOST, leaving its row and its copy to the new owner. Claims run out on the
 * database's clock (ClaimRepository); only heldElsewhere, a courtesy check before a cancel (the
 * claim it leads to is judged by the database), reads this process's clock.
 */
export class MoveClaims {
  private readonly held = new Map<number, AbortController>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: MoveClaimsDeps) {}

  get instance(): string {
    return this.deps.instance;
  }

  /** How often claims are renewed and orphans looked for. */
  get everyMs(): number {
    return Math.max(100, Math.floor(this.deps.ttlMs / 6));
  }

  claimable(limit: number): Promise<MoveRow[]> {
    return this.deps.repo.claimable(limit);
  }

  orphaned(limit: number): Promise<MoveRow[]> {
    return this.deps.repo.orphaned(limit);
  }

  claim(id: number, states: readonly MoveState[]): Promise<boolean> {
    return this.deps.repo.claim(id, states, this.deps.instance, this.deps.ttlMs);
  }

  /** At a start with the database to itself: the claims of a killed predecessor end now, not at their expiry. */
  forgetPlanned(): Promise<void> {
    return this.deps.repo.forgetPlanned();
  }

  release(id: number): Promise<void> {
    return this.deps.repo.release(id, this.deps.instance);
  }

  /** Another instance's claim on `m` is live (it runs the move now). */
  heldElsewhere(m: Pick<MoveRow, 'owner' | 'claimed_until'>): boolean {
    return m.owner !== null && m.owner !== this.deps.instance && Number(m.claimed_until ?? 0) >= Date.now();
  }

  /** Renews the claim on `id` while it runs; `abort` is aborted with CLAIM_LOST if it is lost. */
  hold(id: number, abort: AbortController): void {
    this.held.set(id, abort);
    this.timer ??= setInterval(() => void this.renew(), this.everyMs);
    this.timer.unref();
  }

  drop(id: number): void {
    this.held.delete(id);
    if (this.held.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private async renew(): Promise<void> {
    const ids = [...this.held.keys()];
    try {
      const kept = await this.deps.repo.renew(this.deps.instance, ids, this.deps.ttlMs);
      for (const id of ids) {
        if (kept.has(id)) continue;
        this.deps.logger.warn('move.claim_lost', { move_id: id, note: 'another instance recovers it' });
        this.held.get(id)?.abort(CLAIM_LOST);
      }
    } catch (err) {
      this.deps.logger.warn('move.claim_renew_failed', { error: err as Error });
    }
  }
}
