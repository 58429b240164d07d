/**
 * Replays a trace through policies on a simulated clock: every event is charged at each
 * policy's current placement of its dataset, storage is charged step by step, and at each step
 * every policy decides where each dataset goes next (moves charged as the cost model says).
 * The statistics policies see are the live pipeline's: totals, decayed rates (same decay code),
 * hourly counts.
 */
import { applyBudget } from '../budget';
import { type Decision } from '../decision';
import { placementIndex, type Placement } from '../placements';
import { DayUse, informedBound, offlineOptimum, type BoundInput } from './bounds';
import { ForecastSampler } from './forecasts';
import { replannedBound } from './replanned';
import { groupKeys } from './replan-learner';
import { Ledger } from './ledger';
import type { PolicyResult } from './result';
import { SimStats } from './stats';
import type { Trace, TraceEvent } from './trace';
import { LIVE_RUN_INTERVAL_MS, SIM_DEFAULT_PLACEMENT, type SimOptions, type SimPolicy, type SimResult } from './types';

export type { PolicyResult } from './result';
export { SIM_DEFAULT_PLACEMENT, type PolicyState, type SimOptions, type SimPolicy, type SimResult } from './types';
export type { SimView } from './types';

const DAY = 86_400_000;

/** The trace's datasets as arrays by position: size, creation (the start at the earliest), starting placement. */
function catalogArrays(
  trace: Trace,
  start0: Placement,
): { index: Map<string, number>; size: Float64Array; createdAt: Float64Array; initial: Uint8Array } {
  const cat = trace.catalog;
  const n = cat.datasets.length;
  const index = new Map<string, number>();
  const size = new Float64Array(n);
  const createdAt = new Float64Array(n);
  const initial = new Uint8Array(n);
  cat.datasets.forEach((d, i) => {
    index.set(d.name, i);
    size[i] = d.size_bytes;
    createdAt[i] = Math.max(cat.start, d.created_at);
    initial[i] = placementIndex({ location: d.location ?? start0.location, tier: d.tier ?? start0.tier });
  });
  return { index, size, createdAt, initial };
}

class Replay {
  readonly n: number;
  readonly days: number;
  readonly start: number;
  readonly end: number;
  private readonly index: Map<string, number>;
  private readonly stats: SimStats;
  private readonly ledgers: Ledger[];
  private readonly forecasts: ForecastSampler;
  /** Per dataset and day, for the offline optimum and the informed bound. */
  private readonly dayUse: DayUse | undefined;
  private readonly bound: BoundInput;
  /** The per-run budget times the live runs a step stands for (see SimOptions.runsPerStep). */
  private readonly budget: { budgetBytes: number; budgetMoves: number };
  private stepStart: number;
  /** The re-planned bound's level grid, when asked for and the trace knows its expected use. */
  private readonly replanGrid: number | undefined;
  events = 0;

  constructor(
    private readonly trace: Trace,
    private readonly opts: SimOptions,
    private readonly informed: boolean,
  ) {
    const cat = trace.catalog;
    this.n = cat.datasets.length;
    this.days = cat.days;
    this.start = cat.start;
    this.end = cat.start + cat.days * DAY;
    const { index, size, createdAt, initial } = catalogArrays(trace, opts.initial ?? SIM_DEFAULT_PLACEMENT);
    this.index = index;
    this.stats = new SimStats(this.n, size, createdAt, this.start);
    this.ledgers = opts.policies.map(() => new Ledger(opts.cost, this.n, initial, createdAt));
    const { predictor, settings } = opts;
    this.forecasts = new ForecastSampler(
      predictor,
      this.stats,
      opts.observationsPerStep ?? 200,
      settings.minModelUpdates,
    );
    this.replanGrid = opts.replanned !== undefined && trace.expected !== undefined ? opts.replanned : undefined;
    this.dayUse = opts.optimum || informed || this.replanGrid !== undefined ? new DayUse(this.n, this.days) : undefined;
    this.bound = {
      cost: opts.cost,
      n: this.n,
      days: this.days,
      start: this.start,
      size,
      createdAt,
      initial,
      maxLatencyMs: settings.defaultMaxLatencyMs,
    };
    this.stepStart = this.start;
    const runs = opts.runsPerStep ?? Math.max(1, (opts.stepMs ?? DAY) / LIVE_RUN_INTERVAL_MS);
    this.budget = { budgetBytes: settings.budgetBytes * runs, budgetMoves: settings.budgetMoves * runs };
  }

  run(): void {
    const stepMs = this.opts.stepMs ?? DAY;
    let nextStep = this.start + stepMs;
    for (const e of this.trace.events()) {
      while (e.ts >= nextStep && nextStep <= this.end) {
        this.step(nextStep);
        nextStep += stepMs;
      }
      this.event(e);
    }
    while (nextStep <= this.end) {
      this.step(nextStep);
      nextStep += stepMs;
    }
  }

  private event(e: TraceEvent): void {
    const i = this.index.get(e.dataset);
    if (i === undefined) throw new Error(`event for unknown dataset ${e.dataset}`);
    this.events++;
    const at = i * this.days + Math.min(this.days - 1, Math.floor((e.ts - this.start) / DAY));
    this.stats.record(i, e);
    if (e.type === 'read') {
      for (const l of this.ledgers) l.read(i, e.bytes);
      this.dayUse?.read(at, e.bytes);
    } else {
      for (const l of this.ledgers) l.write(i);
      this.dayUse?.write(at);
    }
  }

  private step(now: number): void {
    this.stats.now = now;
    const { size, createdAt } = this.stats;
    for (const l of this.ledgers) l.storageUntil(this.stepStart, now, size, createdAt);
    this.stepStart = now;
    this.forecasts.mature(now);
    this.forecasts.sample(now, this.end);
    this.opts.policies.forEach((p, k) => this.decide(p, this.ledgers[k]!, now));
  }

  /** The policy decides for every dataset that exists; its moves go through its budget if it has one. */
  private decide(p: SimPolicy, l: Ledger, now: number): void {
    const { view, size, createdAt } = this.stats;
    const st = l.state;
    p.beginStep?.(view, now);
    const proposals: { i: number; target: number; decision: Decision }[] = [];
    for (let i = 0; i < this.n; i++) {
      if (createdAt[i]! > now) continue;
      const cur = st.placement[i]!;
      const r = p.decide(view, i, cur, now, st);
      if (typeof r === 'number') {
        if (r !== cur) l.move(i, r, size[i]!, now);
      } else if (r.target !== cur) proposals.push({ i, ...r });
    }
    if (proposals.length === 0) return;
    const byDecision = new Map(proposals.map((x) => [x.decision, x] as const));
    const chosen = p.usesBudget
      ? applyBudget(
          proposals.map((x) => x.decision),
          (d) => size[byDecision.get(d)!.i]!,
          this.budget,
        )
      : proposals.map((x) => x.decision);
    for (const d of chosen) {
      const x = byDecision.get(d)!;
      l.move(x.i, x.target, size[x.i]!, now);
    }
  }

  results(): PolicyResult[] {
    const out = this.opts.policies.map((p, k) => this.ledgers[k]!.result(p.name, p.description));
    if (this.opts.optimum) out.push(offlineOptimum(this.bound, this.dayUse!));
    if (this.informed) out.push(informedBound(this.bound, this.dayUse!, this.trace.expected!()));
    if (this.replanGrid !== undefined) out.push(this.replanned(this.replanGrid));
    return out;
  }

  private replanned(grid: number): PolicyResult {
    const cat = this.trace.catalog;
    const groups = groupKeys(
      cat.datasets.map((d) => d.name),
      cat.datasets.map((d) => d.created_at),
      cat.start,
    );
    return replannedBound(this.bound, this.dayUse!, this.trace.expected!(), { grid, groups });
  }

  forecastQuality(): Pick<SimResult, 'forecast_quality' | 'forecast_quality_trained'> {
    return {
      forecast_quality: this.forecasts.quality.report(),
      forecast_quality_trained: this.forecasts.qualityTrained.report(),
    };
  }
}

/** Replays the trace through opts.policies (and the bounds asked for); see the module's comment. */
export function simulate(trace: Trace, opts: SimOptions): SimResult {
  const t0 = Date.now();
  const replay = new Replay(trace, opts, opts.informed === true && trace.expected !== undefined);
  replay.run();
  return {
    workload: trace.catalog.workload,
    datasets: replay.n,
    days: replay.days,
    events: replay.events,
    policies: replay.results(),
    ...replay.forecastQuality(),
    seconds: (Date.now() - t0) / 1000,
  };
}
