import schedule from 'node-schedule';
import { type Fence, isWriteRefused } from '../db';
import { type Clock, AppError, type Logger, oneAtATime, type Service } from '../platform';
import { runOnce, type RunResult } from './run';
import type { MoveEnqueuer, TieringService } from './service';

export type { RunResult } from './run';

/** Who may run the scheduler: one instance at a time (cluster's lease). */
export interface SchedulerLeadership {
  /** Holds the right to run, trying to take it when it does not. */
  acquire(): Promise<boolean>;
  /** Asks the database that this instance still holds it. */
  confirm(): Promise<boolean>;
  /** Who holds it (undefined: nobody). */
  holder(): Promise<string | undefined>;
  /** Inside a write's transaction: refuses the write unless this instance still holds it. */
  fence: Fence;
}

export interface TierSchedulerDeps {
  tiering: TieringService;
  moves: MoveEnqueuer;
  clock: Clock;
  logger: Logger;
  /** Absent: this instance always runs (tests that build the scheduler alone). */
  leadership?: SchedulerLeadership;
  /** Other instances may change settings, catalog and model: re-read them this often (absent: never). */
  refreshEveryMs?: number;
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
  private readonly runOne = oneAtATime((trigger: string) => this.lead(trigger));

  constructor(private readonly deps: TierSchedulerDeps) {}

  private refresher: NodeJS.Timeout | undefined;

  async start(): Promise<void> {
    this.stopped = false;
    await this.closeAbandoned();
    this.arm();
    const every = this.deps.refreshEveryMs;
    if (every) {
      this.refresher = setInterval(() => void this.refresh(), every);
      this.refresher.unref();
    }
  }

  /** Runs left unfinished by a process that died are closed by whoever runs the scheduler. */
  private async closeAbandoned(): Promise<void> {
    if (this.runOne.running) return;
    if (this.deps.leadership && !(await this.deps.leadership.acquire())) return;
    await this.deps.tiering.repo.runs
      .closeAbandoned(this.deps.clock.now(), this.deps.leadership?.fence)
      .catch((err: unknown) => {
        // Lost between the two (logged by the fence): the leader closes them.
        if (!isWriteRefused(err)) throw err;
      });
  }

  private async refresh(): Promise<void> {
    const before = this.deps.tiering.settings;
    try {
      await this.deps.tiering.refresh();
    } catch (err) {
      this.deps.logger.warn('scheduler.refresh_failed', { error: err as Error });
      return;
    }
    const after = this.deps.tiering.settings;
    if (after.enabled !== before.enabled || after.intervalMs !== before.intervalMs) this.arm();
  }

  /** When the timer fires next (null when disabled). */
  get nextRunAt(): number | null {
    return this.nextAt;
  }

  /** The instance that holds the scheduler's lease (undefined: nobody now, or no lease in use). */
  async leader(): Promise<string | undefined> {
    return this.deps.leadership?.holder();
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
      this.runIfLeader()
        .catch((err: unknown) => {
          // A refused write was logged by the lease's fence (once): this instance is no longer the leader.
          if (!isWriteRefused(err)) this.deps.logger.error('scheduler.run_failed', { error: err as Error });
        })
        .finally(() => this.arm());
    });
  }

  /** A run now; while one is going, this joins it (and gets its result, whatever its trigger). */
  run(trigger: string): Promise<RunResult> {
    if (this.stopped) return Promise.reject(AppError.unavailable('the scheduler is stopping', 5));
    return this.runOne(trigger);
  }

  /** The timer's run: on the instance that holds the lease; the others only re-arm. */
  private async runIfLeader(): Promise<void> {
    const { leadership, logger } = this.deps;
    if (leadership && !this.runOne.running && !(await leadership.acquire())) {
      logger.debug('scheduler.skipped', { reason: 'another instance holds the scheduler lease' });
      return;
    }
    await this.run('timer');
  }

  /**
   * A run under the lease: refused when another instance holds it, and stopped before its next
   * write when the lease is lost meanwhile (the token in the database is no longer this one's).
   */
  private async lead(trigger: string): Promise<RunResult> {
    const { leadership } = this.deps;
    if (!leadership) return runOnce({ ...this.deps, guard: () => Promise.resolve() }, trigger);
    if (!(await leadership.acquire())) {
      const holder = (await leadership.holder()) ?? 'another instance';
      throw AppError.conflict(`the scheduler runs on ${holder}: ask that instance, or wait for its run`, { holder });
    }
    // Settings, catalog and model as the database holds them: another instance may have changed them.
    await this.deps.tiering.refresh();
    await this.deps.tiering.repo.runs.closeAbandoned(this.deps.clock.now(), leadership.fence);
    const guard = async (): Promise<void> => {
      if (!(await leadership.confirm()))
        throw AppError.conflict(
          'this instance lost the scheduler lease during the run; it stopped before writing more',
        );
    };
    return runOnce({ ...this.deps, guard, fence: leadership.fence }, trigger);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.refresher);
    this.refresher = undefined;
    this.job?.cancel();
    this.job = undefined;
    this.nextAt = null;
    await this.runOne.idle();
  }
}
