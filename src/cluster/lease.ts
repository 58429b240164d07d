import { type Db, WriteRefused } from '../db';
import { type Logger, oneAtATime, type Service } from '../platform';
import type { LeaseRepository } from './lease-repository';

export interface LeaseDeps {
  repo: LeaseRepository;
  /** The job the lease is for, e.g. 'tier-scheduler'. */
  job: string;
  /** This instance (see instanceId). */
  instance: string;
  /** A holder that stops renewing loses the lease this long after its last renewal. */
  ttlMs: number;
  /**
   * Nobody else can hold it (SQLite: the data directory is locked to this process): the lease is
   * taken at start even if a killed predecessor's has not expired yet.
   */
  exclusive: boolean;
  logger: Logger;
}

/**
 * One instance at a time runs the job: the lease is renewed every third of its TTL, and an
 * instance without it tries to take it at the same pace, so after the holder dies another takes
 * over within TTL + TTL/3. Lease expiry compares wall clocks across instances: keep them in sync
 * (NTP), well within the TTL.
 */
export class Lease implements Service {
  readonly name: string;
  private token: number | undefined;
  /** Past this, the lease may have expired in the database even if no renewal said so. */
  private validUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly tick = oneAtATime(() => this.refresh());
  private readonly refusedListeners: ((job: string) => void)[] = [];

  constructor(private readonly deps: LeaseDeps) {
    this.name = `lease:${deps.job}`;
  }

  async start(): Promise<void> {
    const { repo, job, instance, ttlMs, exclusive } = this.deps;
    if (exclusive) {
      const now = Date.now();
      this.took(await repo.seize(job, instance, now, ttlMs), now);
    } else {
      await this.tick();
    }
    this.timer = setInterval(() => void this.tick(), Math.max(100, Math.floor(ttlMs / 3)));
    this.timer.unref();
  }

  /** Holds the lease as far as this process knows (its last renewal has not run out). */
  get held(): boolean {
    return this.token !== undefined && Date.now() < this.validUntil;
  }

  /** Holds it, trying to take it first when it does not. */
  async acquire(): Promise<boolean> {
    if (!this.held) await this.tick();
    return this.held;
  }

  /** Asks the database: this instance still holds the lease with the token it took. */
  async confirm(): Promise<boolean> {
    const token = this.token;
    if (token === undefined) return false;
    const row = await this.deps.repo.get(this.deps.job);
    return (
      !!row && row.holder === this.deps.instance && Number(row.token) === token && Number(row.expires_at) > Date.now()
    );
  }

  /**
   * A Fence for the job's writes: inside their transaction, the database confirms this instance
   * still holds the lease with the token it took, and keeps it from being taken until they commit.
   * A refusal is logged and counted here, once; this instance then stops counting on the lease
   * until a renewal says it still has it, so its next writes are not even tried.
   */
  readonly fence = async (trx: Db): Promise<void> => {
    const { repo, job, instance } = this.deps;
    const token = this.token;
    if (token !== undefined && (await repo.in(trx).hold(job, instance, token, Date.now()))) return;
    this.validUntil = 0;
    this.deps.logger.warn('lease.write_refused', { job, instance, token });
    for (const l of this.refusedListeners) l(job);
    throw new WriteRefused(
      job,
      `this instance no longer holds the ${job} lease (another instance took it over, or it expired): its write was refused`,
    );
  };

  /** `fn` hears of every write this lease's fence refused (the metrics count them). */
  onRefused(fn: (job: string) => void): void {
    this.refusedListeners.push(fn);
  }

  /** Who holds the lease now (undefined: nobody, or it expired). */
  async holder(): Promise<string | undefined> {
    const row = await this.deps.repo.get(this.deps.job);
    return row && Number(row.expires_at) > Date.now() ? row.holder : undefined;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.tick.idle();
    const token = this.token;
    this.token = undefined;
    if (token !== undefined) await this.deps.repo.release(this.deps.job, this.deps.instance, token);
  }

  async details(): Promise<Record<string, unknown>> {
    const row = await this.deps.repo.get(this.deps.job);
    const live = !!row && Number(row.expires_at) > Date.now();
    return {
      instance: this.deps.instance,
      [this.deps.job.replace(/-/g, '_') + '_lease']: {
        holder: live ? row.holder : null,
        held_here: this.held,
        token: row ? Number(row.token) : null,
        expires_at: live ? new Date(Number(row.expires_at)).toISOString() : null,
      },
    };
  }

  private async refresh(): Promise<void> {
    const { repo, job, instance, ttlMs, logger } = this.deps;
    const now = Date.now();
    try {
      if (this.token !== undefined) {
        if (await repo.renew(job, instance, this.token, now, ttlMs)) {
          this.validUntil = now + ttlMs;
          return;
        }
        logger.warn('lease.lost', { job, token: this.token });
        this.token = undefined;
      }
      const token = await repo.acquire(job, instance, now, ttlMs);
      if (token !== undefined) this.took(token, now);
    } catch (err) {
      // The database did not answer: the lease runs out on its own (validUntil) if this goes on.
      logger.warn('lease.refresh_failed', { job, error: err as Error });
    }
  }

  private took(token: number, now: number): void {
    this.token = token;
    this.validUntil = now + this.deps.ttlMs;
    this.deps.logger.info('lease.acquired', { job: this.deps.job, instance: this.deps.instance, token });
  }
}
