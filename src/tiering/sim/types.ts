/** What a replay takes and gives: the view a policy decides from, the policies, the options and the result. */
import type { CostModel } from '../cost';
import type { Decision, PolicySettings } from '../decision';
import type { Placement } from '../placements';
import type { Predictor, QualityReport } from '../predictor';
import type { StatsSnapshot } from '../features';
import type { PolicyResult } from './result';

/** What a replayed policy may look at: the same statistics the live product keeps. */
export interface SimView {
  readonly n: number;
  readonly size: Float64Array;
  readonly createdAt: Float64Array;
  /** Last access of any kind, scans included (creation time if none). */
  lastAccess(i: number): number;
  /** Last non-scan access (creation time if none). */
  lastWarm(i: number): number;
  /** Non-scan accesses in each of the last 24 hours, oldest first. */
  hourly(i: number): Float64Array;
  snapshot(i: number): StatsSnapshot;
}

/** Where a policy has put each dataset, and since when. */
export interface PolicyState {
  readonly placement: Uint8Array;
  readonly placedAt: Float64Array;
  /** NaN when the dataset never moved. */
  readonly lastMoveAt: Float64Array;
}

export interface SimPolicy {
  name: string;
  description: string;
  /** The product's policy applies its per-run budget to the moves it proposes. */
  usesBudget?: boolean;
  /** Called at each step before the decisions, as the live scheduler begins a run. */
  beginStep?(view: SimView, now: number): void;
  /** The placement index the dataset should be at from now on. */
  decide(
    view: SimView,
    i: number,
    current: number,
    now: number,
    state: PolicyState,
  ): number | { target: number; decision: Decision };
}

export interface SimResult {
  workload: string;
  datasets: number;
  days: number;
  events: number;
  policies: PolicyResult[];
  forecast_quality: QualityReport;
  /**
   * The same over the forecasts made once the model had learnt from settings.minModelUpdates
   * matured ones: those the policy's demotions rely on. Before that, forecasts come from the
   * untrained prior (the horizon repeats the 1-week rate), while labels take a horizon to mature.
   */
  forecast_quality_trained: QualityReport;
  seconds: number;
}

export interface SimOptions {
  cost: CostModel;
  settings: PolicySettings;
  /** The product's predictor: trained online during the replay from the replay's own history. */
  predictor: Predictor;
  policies: SimPolicy[];
  /** Also compute the offline optimum (a lower bound with knowledge of the future). */
  optimum: boolean;
  /**
   * Also compute the informed bound, when the trace knows its expected use (generated workloads):
   * the optimum's dynamic programming over each dataset's expected accesses instead of its actual
   * ones, and that plan charged with the actual ones. For Poisson accesses with known rates, what
   * a policy has seen says nothing more about what comes, so no policy that cannot see the future
   * does better on average, however good its forecasts. Datasets without an expectation
   * (read-once) count at their offline optimum.
   */
  informed?: boolean;
  /**
   * Also compute the re-planned bound (replanned.ts) when the trace knows its expected use: the informed
   * planner re-planned each day on what a perfect learner knows so far. The number is its level grid (1:
   * re-plan on every change of the learnt level; REPLAN_GRID by default on the command line).
   */
  replanned?: number;
  /** How often policies decide: the scheduler's interval in simulated time. */
  stepMs?: number;
  /**
   * Live scheduler runs one step stands for: the product's per-run move budget is granted this
   * many times per step (default: the step ÷ LIVE_RUN_INTERVAL_MS, at least 1).
   */
  runsPerStep?: number;
  /** Forecast observations taken per step (a sample, as the live product does). */
  observationsPerStep?: number;
  /** Where datasets whose trace entry names no placement start (default: PUBLIC/HOT). */
  initial?: Placement;
}

/** The live scheduler's default interval between runs (SCHEDULER_INTERVAL). */
export const LIVE_RUN_INTERVAL_MS = 5 * 60_000;

/**
 * Replays start in S3 Standard by default: the setting S3 Intelligent-Tiering and FabricPool's
 * cloud tier were built for, so the baselines tier within the public cloud as they really do.
 */
export const SIM_DEFAULT_PLACEMENT: Placement = { location: 'PUBLIC', tier: 'HOT' };
