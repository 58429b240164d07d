import type { BucketResolution } from '../db/schema';
import type { Clock } from '../platform/clock';
import type { Logger } from '../platform/logger';
import type { StatsRepository } from './stats-repository';

export interface RetentionOptions {
  buckets: Record<BucketResolution, number>;
  idempotencyWindowMs: number;
  intervalMs: number;
}

/**
 * Keeps storage bounded however long the product runs: minute buckets are dropped after their
 * retention (hours and days already hold their sums), then hours, then days; event ids are
 * remembered for the idempotency window only. A run never overlaps the previous one.
 */
export class StatsMaintenance {
  readonly name = 'stats-maintenance';
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly stats: StatsRepository,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly opts: RetentionOptions,
  ) {}

  async start(): Promise<void> {
    this.timer = setInterval(() => void this.runOnce(), this.opts.intervalMs);
    this.timer.unref();
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
      const removed: Record<string, number> = {};
      for (const res of ['m', 'h', 'd'] as const) removed[`buckets_${res}`] = await this.stats.pruneBuckets(res, now - this.opts.buckets[res]);
      removed.event_ids = await this.stats.pruneEventIds(now - this.opts.idempotencyWindowMs);
      if (Object.values(removed).some((n) => n > 0)) this.logger.info('stats.pruned', removed);
    } catch (err) {
      this.logger.warn('stats.prune_failed', { error: err as Error });
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
