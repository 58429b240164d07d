import type { BucketResolution } from '../db';
import { type Clock, type Logger } from '../platform';
import type { StatsRepository } from './stats-repository';

export interface RetentionOptions {
  buckets: Record<BucketResolution, number>;
  idempotencyWindowMs: number;
  /** How often old data is pruned. */
  intervalMs: number;
  /** How often closed minute buckets are rolled up into hours and days. */
  rollupIntervalMs: number;
}

/**
 * Keeps storage bounded however long the product runs: minute buckets are dropped after their
 * retention (hours and days already hold their sums), then hours, then days; event ids are
 * remembered for the idempotency window only. A run never overlaps the previous one.
 */
export class StatsMaintenance {
  readonly name = 'stats-maintenance';
  private timer: NodeJS.Timeout | undefined;
  private rollupTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private rolling: Promise<void> | undefined;

  constructor(
    private readonly stats: StatsRepository,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly opts: RetentionOptions,
  ) {}

  async start(): Promise<void> {
    this.timer = setInterval(() => void this.runOnce(), this.opts.intervalMs);
    this.timer.unref();
    this.rollupTimer = setInterval(() => void this.rollUpOnce(), this.opts.rollupIntervalMs);
    this.rollupTimer.unref();
  }

  /** Rolls up every closed minute (the current one still takes events). Never overlaps itself. */
  rollUpOnce(): Promise<void> {
    if (!this.rolling) {
      const until = Math.floor(this.clock.now() / 60_000) * 60_000;
      this.rolling = this.stats
        .rollUp(until)
        .then((n) => {
          if (n > 0) this.logger.debug('stats.rolled_up', { minute_buckets: n, until: new Date(until).toISOString() });
        })
        .catch((err: unknown) => this.logger.warn('stats.rollup_failed', { error: err as Error }))
        .finally(() => {
          this.rolling = undefined;
        });
    }
    return this.rolling;
  }

  runOnce(): Promise<void> {
    if (!this.running) {
      this.running = this.prune().finally(() => {
        this.running = undefined;
      });
    }
    return this.running;
  }

  private async prune(): Promise<void> {
    const now = this.clock.now();
    try {
      await this.rollUpOnce();
      const removed: Record<string, number> = {};
      for (const res of ['m', 'h', 'd'] as const)
        removed[`buckets_${res}`] = await this.stats.pruneBuckets(res, now - this.opts.buckets[res]);
      removed.event_ids = await this.stats.pruneEventIds(now - this.opts.idempotencyWindowMs);
      if (Object.values(removed).some((n) => n > 0)) this.logger.info('stats.pruned', removed);
    } catch (err) {
      this.logger.warn('stats.prune_failed', { error: err as Error });
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.rollupTimer) clearInterval(this.rollupTimer);
    this.timer = undefined;
    this.rollupTimer = undefined;
    await Promise.all([this.running, this.rolling]);
  }
}
