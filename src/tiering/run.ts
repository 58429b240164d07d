/**
 * One scheduler run: label matured forecasts and train the model on them, decide for every
 * dataset (scan), hand the moves that fit the budget to the move queue (plan), and record a
 * sample of forecasts to label later (observe). The timer that starts runs is scheduler.ts.
 */
import { type Fence, isWriteRefused } from '../db';
import type { Clock, Logger } from '../platform';
import { features, N_FEATURES } from './features';
import { FIRST_READ_REFRESH_MS, FirstReadCurve } from './first-read';
import { ReadShareEstimator } from './read-share';
import { ReadSplitEstimator } from './read-split';
import { BASELINES } from './predictor';
import type { CandidateRow } from './repository';
import { plan, type PlannedMove } from './run-plan';
import { scan, type RunContext } from './run-scan';
import { snapshotOf } from './candidate';
import type { MoveEnqueuer, TieringService } from './service';

const DAY = 86_400_000;

export interface RunResult {
  run_id: number;
  trigger: string;
  started_at: string;
  seconds: number;
  datasets: number;
  decisions_written: number;
  moves: PlannedMove[];
  held: Record<string, number>;
  catalog_version: number;
  /** What the moves pending at the end of the run save per month, net of their cost (TieringService.pendingSaving). */
  pending_saving_month: number;
  observations: { matured: number; added: number };
  /** Where the run's time went. */
  phases_ms: { train: number; scan: number; plan: number; observe: number };
}

export interface RunDeps {
  tiering: TieringService;
  moves: MoveEnqueuer;
  clock: Clock;
  logger: Logger;
  /** Throws when this instance may no longer write the run's results (it lost the scheduler's lease). */
  guard: () => Promise<void>;
  /** Checks the lease inside each write's transaction (absent: no lease in use). */
  fence?: Fence;
}

export async function runOnce(deps: RunDeps, trigger: string): Promise<RunResult> {
  const { tiering, clock } = deps;
  const t0 = Date.now();
  const now = clock.now();
  const { repo } = tiering;
  const runId = await repo.runs.start(trigger, now, deps.fence);
  try {
    const result = await phases(deps, trigger, runId, now, t0);
    await repo.runs.finish(
      runId,
      {
        finished_at: clock.now(),
        datasets: result.datasets,
        moves: result.moves.length,
        held: result.held,
        catalog_version: result.catalog_version,
        pending_saving_month: result.pending_saving_month,
        error: null,
      },
      deps.fence,
    );
    deps.logger.child({ run_id: runId }).info('scheduler.run', {
      trigger,
      datasets: result.datasets,
      moves: result.moves.length,
      held: result.held,
      seconds: result.seconds,
      decisions_written: result.decisions_written,
    });
    return result;
  } catch (err) {
    // After a refused write its close would be refused too (and logged again): the next leader
    // closes the run (closeAbandoned).
    if (isWriteRefused(err)) throw err;
    await repo.runs
      .finish(
        runId,
        {
          finished_at: clock.now(),
          datasets: 0,
          moves: 0,
          held: {},
          catalog_version: null,
          pending_saving_month: null,
          error: (err as Error).message,
        },
        deps.fence,
      )
      .catch(() => undefined);
    throw err;
  }
}

async function phases(deps: RunDeps, trigger: string, runId: number, now: number, t0: number): Promise<RunResult> {
  const { tiering } = deps;
  const tTrain = Date.now();
  const matured = await train(tiering, now, deps);
  const tScan = Date.now();
  // Reads are priced toward the fleet's read share as it stands now (one aggregate query),
  // so every run, the first included, prices with the same share its explanations show; the
  // same for the fleet's first-read delays, which move over days: summed every few hours only.
  tiering.learnReadShare(
    ReadShareEstimator.share(await tiering.repo.scan.readShareTotals()),
    ReadSplitEstimator.prior(await tiering.repo.scan.readSplitTotals()),
  );
  const learntAt = tiering.firstReadLearntAt;
  if (learntAt === null || now < learntAt || now - learntAt >= FIRST_READ_REFRESH_MS) {
    tiering.firstRead = FirstReadCurve.from(await tiering.repo.scan.firstReadTotals(now));
    tiering.firstReadLearntAt = now;
  }
  const policy = tiering.policyEngine();
  const catalogVersion = tiering.catalog.version;
  const ctx: RunContext = {
    tiering,
    runId,
    now,
    held: {},
    budgetHeld: [],
    guard: deps.guard,
    ...(deps.fence ? { fence: deps.fence } : {}),
  };
  const scanned = await scan(ctx, policy);
  const tPlan = Date.now();
  const planned = await plan(ctx, deps.moves, scanned.best.sorted());
  const tObserve = Date.now();
  await deps.guard();
  const added = await observe(tiering, scanned.sample, now, deps.fence);
  const pending = await tiering.pendingSaving();
  return {
    run_id: runId,
    trigger,
    started_at: new Date(now).toISOString(),
    seconds: (Date.now() - t0) / 1000,
    datasets: scanned.datasets,
    decisions_written: scanned.written + planned.written,
    moves: planned.moves,
    held: ctx.held,
    catalog_version: catalogVersion,
    pending_saving_month: pending.saving_month,
    observations: { matured, added },
    phases_ms: {
      train: tScan - tTrain,
      scan: tPlan - tScan,
      plan: tObserve - tPlan,
      observe: Date.now() - tObserve,
    },
  };
}

/** Labels observations whose horizon has passed and trains the model on them (labels and model saved together). */
async function train(tiering: TieringService, now: number, deps: Pick<RunDeps, 'guard' | 'fence'>): Promise<number> {
  const { repo, predictor } = tiering;
  let n = 0;
  for (;;) {
    const due = await repo.observations.due(now, 5_000);
    if (due.length === 0) break;
    await deps.guard();
    const x = new Float64Array(N_FEATURES);
    const labelled = due.map((o) => {
      if (o.warm_now === null) return { id: o.id, actual: null };
      const actual = Math.max(0, o.warm_now - o.warm_total);
      x.set(JSON.parse(o.features) as number[]);
      predictor.update(x, actual);
      return { id: o.id, actual };
    });
    await repo.observations.train(labelled, predictor.state(), now, deps.fence);
    n += due.length;
    if (due.length < 5_000) break;
  }
  return n;
}

/** Records a sample of forecasts (with the demo's baselines) to label when their horizon passes. */
async function observe(tiering: TieringService, rows: CandidateRow[], now: number, fence?: Fence): Promise<number> {
  if (rows.length === 0) return 0;
  const { repo, predictor } = tiering;
  const H = predictor.horizonDays;
  const hourly = await repo.observations.hourlyCounts(
    rows.map((r) => r.id),
    now,
  );
  const empty = new Float64Array(24);
  const x = new Float64Array(N_FEATURES);
  const obs = rows.map((r) => {
    features(snapshotOf(r), now, H, x);
    const h = hourly.get(r.id) ?? empty;
    return {
      dataset_id: r.id,
      observed_at: now,
      due_at: now + H * DAY,
      features: JSON.stringify(Array.from(x)),
      warm_total: Math.max(0, (r.reads ?? 0) + (r.writes ?? 0) - (r.scans ?? 0)),
      predicted: predictor.predict(x),
      seed_regression: BASELINES.seedRegression(h, H),
      seed_ewma: BASELINES.seedEwma(h, H),
    };
  });
  await repo.observations.add(obs, fence);
  return obs.length;
}
