import schedule from 'node-schedule';
import { type Logger, oneAtATime, type Service } from '../platform';
import type { CostHistory } from './cost-history';

export interface CostSnapshotDeps {
  history: CostHistory;
  /** The wall-clock hour (UTC) of the daily snapshot. */
  hourUtc: number;
  logger: Logger;
}

/**
 * The daily cost snapshot: node-schedule at a fixed hour, plus one at start when today has none
 * (a process that was down at that hour still leaves a point for the day). A snapshot that fails
 * is logged (cost_history.snapshot_failed); the next one tries again. It is no readiness check:
 * a missed snapshot leaves a gap in a chart, the instance still serves.
 */
export class CostSnapshotJob implements Service {
  readonly name = 'cost-history';
  private job: schedule.Job | undefined;
  private readonly take = oneAtATime(async (trigger: string) => {
    try {
      const d = await this.deps.history.snapshot();
      this.deps.logger.info('cost_history.snapshot', {
        trigger,
        day: d.day,
        cost_month: d.cost_month,
        saving_month: d.saving_month,
      });
    } catch (err) {
      this.deps.logger.error('cost_history.snapshot_failed', { trigger, error: err as Error });
    }
  });

  constructor(private readonly deps: CostSnapshotDeps) {}

  async start(): Promise<void> {
    const rule = new schedule.RecurrenceRule();
    rule.hour = this.deps.hourUtc;
    rule.minute = 0;
    rule.tz = 'Etc/UTC';
    this.job = schedule.scheduleJob(rule, () => void this.take('timer'));
    if (!(await this.deps.history.takenToday().catch(() => false))) await this.take('start');
  }

  async stop(): Promise<void> {
    this.job?.cancel();
    this.job = undefined;
    await this.take.idle();
  }
}
