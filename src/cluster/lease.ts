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
 * over within TTL + TTL/3. Expiry is judged on the database's clock (LeaseRepository), so
 * instances whose clocks disagree agree on it; what this process believes it holds runs on its
 * own monotonic clock from before each renewal was asked.
 */
export class Lease implements Service {
  readonly name: string;
  private token: number | undefined;
  /** Past this (performance.now()), the lease may have expired in the database even if no renewal said so. */
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
      const asked = performance.now();
      this.took(await repo.seize(job, instance, ttlMs), asked);
    } else {
      await this.tick();
    }
    this.timer = setInterval(() => void this.tick(), Math.max(100, Math.floor(ttlMs / 3)));
    this.timer.unref();
  }

  /** Holds the lease as far as this process knows (its last renewal has not run out). */
  get held(): boolean {
    return this.token !== undefined && performance.now() < this.validUntil;
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
    const row = await this.deps.repo.live(this.deps.job);
    return !!row && row.holder === this.deps.instance && Number(row.token) === token;
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
    if (token !== undefined && (await repo.in(trx).hold(job, instance, token))) return;
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
    return (await this.deps.repo.live(this.deps.job))?.holder;
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
    const [row, live] = await Promise.all([this.deps.repo.get(this.deps.job), this.deps.repo.live(this.deps.job)]);
    return {
      instance: this.deps.instance,
      [this.deps.job.replace(/-/g, '_') + '_lease']: {
        holder: live ? live.holder : null,
        held_here: this.held,
        token: row ? Number(row.token) : null,
        expires_at: live ? new Date(Number(live.expires_at)).toISOString() : null,
      },
    };
  }

  private async refresh(): Promise<void> {
    const { repo, job, instance, ttlMs, logger } = this.deps;
    const asked = performance.now();
    try {
      if (this.token !== undefined) {
        if (await repo.renew(job, instance, this.token, ttlMs)) {
          this.validUntil = asked + ttlMs;
          return;
        }
        logger.warn('lease.lost', { job, token: this.token });
        this.token = undefined;
      }
      const token = await repo.acquire(job, instance, ttlMs);
      if (token !== undefined) this.took(token, asked);
    } catch (err) {
      // The database did not answer: the lease runs out on its own (validUntil) if this goes on.
      logger.warn('lease.refresh_failed', { job, error: err as Error });
    }
  }

  /** Took the lease with `token`; `asked`: performance.now() before the request that took it. */
  private took(token: number, asked: number): void {
    this.token = token;
    this.validUntil = asked + this.deps.ttlMs;
    this.deps.logger.info('lease.acquired', { job: this.deps.job, instance: this.deps.instance, token });
  }
}
