import schedule from 'node-schedule';
import { type Clock, AppError, type Logger, oneAtATime, type Service } from '../platform';
import { runOnce, type RunResult } from './run';
import type { MoveEnqueuer, TieringService } from './service';

export type { RunResult } from './run';

export interface TierSchedulerDeps {
  tiering: TieringService;
  moves: MoveEnqueuer;
  clock: Clock;
  logger: Logger;
}

/**
 * The tier scheduler's timer: node-schedule, re-armed after each run so the interval counts from
 * the end of the previous run, and runs on demand. What a run does is run.ts. A run never
 * overlaps the previous one: asking for a run while one is going joins it.
 */
export class TierScheduler implements Service {
  readonly name = 'tier-scheduler';
  private job: schedule.Job | undefined;
  private stopped = false;
  private nextAt: number | null = null;
  private readonly runOne = oneAtATime((trigger: string) => runOnce(this.deps, trigger));

  constructor(private readonly deps: TierSchedulerDeps) {}

  async start(): Promise<void> {
    this.stopped = false;
    this.arm();
  }

  /** When the timer fires next (null when disabled). */
  get nextRunAt(): number | null {
    return this.nextAt;
  }

  get isRunning(): boolean {
    return this.runOne.running;
  }

  /** Re-arms the timer, e.g. after the interval changed. */
  arm(): void {
    this.job?.cancel();
    this.job = undefined;
    this.nextAt = null;
    const s = this.deps.tiering.settings;
    if (this.stopped || !s.enabled) return;
    const at = new Date(Date.now() + s.intervalMs);
    this.nextAt = this.deps.clock.now() + s.intervalMs;
    this.job = schedule.scheduleJob(at, () => {
      this.run('timer')
        .catch((err: unknown) => this.deps.logger.error('scheduler.run_failed', { error: err as Error }))
        .finally(() => this.arm());
    });
  }

  /** A run now; while one is going, this joins it (and gets its result, whatever its trigger). */
  run(trigger: string): Promise<RunResult> {
    if (this.stopped) return Promise.reject(AppError.unavailable('the scheduler is stopping', 5));
    return this.runOne(trigger);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.job?.cancel();
    this.job = undefined;
    this.nextAt = null;
    await this.runOne.idle();
  }
}
