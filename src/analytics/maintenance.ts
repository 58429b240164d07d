import type { BucketResolution } from '../db';
import { type Clock, type Logger, type Service, oneAtATime } from '../platform';
import type { EventIdsRepository } from '../stream';
import type { StatsRepository } from './stats-repository';

export interface RetentionOptions {
  buckets: Record<BucketResolution, number>;
  idempotencyWindowMs: number;
  /** How often old data is pruned. */
  intervalMs: number;
  /** How often closed minute buckets are rolled up into hours and days. */
  rollupIntervalMs: number;
}

export interface StatsMaintenanceDeps {
  stats: Pick<StatsRepository, 'rollUp' | 'pruneBuckets'>;
  /** The stream's idempotency keys, which this job forgets after their window. */
  eventIds: Pick<EventIdsRepository, 'prune'>;
  clock: Clock;
  logger: Logger;
  options: RetentionOptions;
}

/**
 * Keeps storage bounded however long the product runs: minute buckets are dropped after their
 * retention (hours and days already hold their sums), then hours, then days; event ids are
 * remembered for the idempotency window only. A run never overlaps the previous one.
 */
export class StatsMaintenance implements Service {
  readonly name = 'stats-maintenance';
  private timer: NodeJS.Timeout | undefined;
  private rollupTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: StatsMaintenanceDeps) {}

  async start(): Promise<void> {
    const { intervalMs, rollupIntervalMs } = this.deps.options;
    this.timer = setInterval(() => void this.runOnce(), intervalMs);
    this.timer.unref();
    this.rollupTimer = setInterval(() => void this.rollUpOnce(), rollupIntervalMs);
    this.rollupTimer.unref();
  }

  /** Rolls up every closed minute (the current one still takes events). */
  readonly rollUpOnce = oneAtATime(async (): Promise<void> => {
    const { stats, clock, logger } = this.deps;
    const until = Math.floor(clock.now() / 60_000) * 60_000;
    try {
      const n = await stats.rollUp(until);
      if (n > 0) logger.debug('stats.rolled_up', { hour_buckets: n, until: new Date(until).toISOString() });
    } catch (err) {
      logger.warn('stats.rollup_failed', { error: err as Error });
    }
  });

  readonly runOnce = oneAtATime(async (): Promise<void> => {
    const { stats, eventIds, clock, logger, options } = this.deps;
    const now = clock.now();
    try {
      await this.rollUpOnce();
      const removed: Record<string, number> = {};
      for (const res of ['m', 'h', 'd'] as const)
        removed[`buckets_${res}`] = await stats.pruneBuckets(res, now - options.buckets[res]);
      removed.event_ids = await eventIds.prune(now - options.idempotencyWindowMs);
      if (Object.values(removed).some((n) => n > 0)) logger.info('stats.pruned', removed);
    } catch (err) {
      logger.warn('stats.prune_failed', { error: err as Error });
    }
  });

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.rollupTimer) clearInterval(this.rollupTimer);
    this.timer = undefined;
    this.rollupTimer = undefined;
    await Promise.all([this.runOnce.idle(), this.rollUpOnce.idle()]);
  }
}
