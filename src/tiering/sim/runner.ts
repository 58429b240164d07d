import { HALF_LIVES, decayTo } from '../../analytics';
import type { CostModel } from '../cost';
import { features, N_FEATURES, type StatsSnapshot } from '../features';
import { applyBudget, type Decision, type PolicySettings } from '../policy';
import { PLACEMENTS, placementIndex, type Placement } from '../placements';
import { BASELINES, type Predictor, QualityTracker, type QualityReport } from '../predictor';
import { optimum } from './optimum';
import type { Trace } from './trace';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const GB = 1024 ** 3;

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

export interface PolicyResult {
  policy: string;
  description: string;
  total: number;
  storage: number;
  requests: number;
  retrieval: number;
  egress: number;
  moves_cost: number;
  early_deletion: number;
  moves: number;
  bytes_moved: number;
  reads: number;
  /** Share of reads (scans included) served from a COLD tier. */
  cold_read_share: number;
  p95_first_byte_ms: number;
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
  /** How often policies decide: the scheduler's interval in simulated time. */
  stepMs?: number;
  /** Forecast observations taken per step (a sample, as the live product does). */
  observationsPerStep?: number;
  /** Where datasets whose trace entry names no placement start (default: PUBLIC/HOT). */
  initial?: Placement;
}

/**
 * Replays start in S3 Standard by default: the setting S3 Intelligent-Tiering and FabricPool's
 * cloud tier were built for, so the baselines tier within the public cloud as they really do.
 */
export const SIM_DEFAULT_PLACEMENT: Placement = { location: 'PUBLIC', tier: 'HOT' };

class Ledger {
  storage = 0;
  requests = 0;
  retrieval = 0;
  egress = 0;
  movesCost = 0;
  earlyDeletion = 0;
  moves = 0;
  bytesMoved = 0;
  readsByPlacement = new Float64Array(PLACEMENTS.length);
  state: PolicyState;
  constructor(n: number, initial: Uint8Array, createdAt: Float64Array) {
    this.state = {
      placement: Uint8Array.from(initial),
      placedAt: Float64Array.from(createdAt),
      lastMoveAt: new Float64Array(n).fill(NaN),
    };
  }
}

/**
 * Replays a trace through policies on a simulated clock: every event is charged at each
 * policy's current placement of its dataset, storage is charged day by day, and at each step
 * every policy decides where each dataset goes next (moves charged as the cost model says).
 * The statistics policies see are the live pipeline's: totals, decayed rates (same decay code),
 * hourly counts.
 */
export function simulate(trace: Trace, opts: SimOptions): SimResult {
  const t0 = Date.now();
  const { cost, settings, predictor } = opts;
  const cat = trace.catalog;
  const n = cat.datasets.length;
  const D = cat.days;
  const start = cat.start;
  const end = start + D * DAY;
  const stepMs = opts.stepMs ?? DAY;
  const H = predictor.horizonDays;
  const index = new Map<string, number>();
  const size = new Float64Array(n);
  const createdAt = new Float64Array(n);
  const initial = new Uint8Array(n);
  cat.datasets.forEach((d, i) => {
    index.set(d.name, i);
    size[i] = d.size_bytes;
    createdAt[i] = Math.max(start, d.created_at);
    const start0 = opts.initial ?? SIM_DEFAULT_PLACEMENT;
    initial[i] = placementIndex({ location: d.location ?? start0.location, tier: d.tier ?? start0.tier });
  });

  // The statistics, as the live pipeline keeps them.
  const reads = new Float64Array(n);
  const writes = new Float64Array(n);
  const scans = new Float64Array(n);
  const bytesRead = new Float64Array(n);
  const firstAccess = new Float64Array(n).fill(NaN);
  const lastAny = Float64Array.from(createdAt);
  const decayAt = new Float64Array(n);
  const d1h = new Float64Array(n);
  const d1d = new Float64Array(n);
  const d1w = new Float64Array(n);
  const d30 = new Float64Array(n);
  const hourCounts = new Float64Array(n * 24);
  const hourStamp = new Float64Array(n * 24).fill(-1);
  // Per dataset and day, for the offline optimum and the informed bound: reads, bytes read, writes.
  const informed = opts.informed === true && trace.expected !== undefined;
  const perDay = opts.optimum || informed;
  const dayReads = perDay ? new Float64Array(n * D) : undefined;
  const dayBytes = perDay ? new Float64Array(n * D) : undefined;
  const dayWrites = perDay ? new Float64Array(n * D) : undefined;

  const hourlyBuf = new Float64Array(24);
  const snap: StatsSnapshot = {
    createdAt: 0,
    sizeBytes: 0,
    reads: 0,
    writes: 0,
    scans: 0,
    bytesRead: 0,
    decayAt: 0,
    decay1h: 0,
    decay1d: 0,
    decay1w: 0,
    decay30d: 0,
    firstAccess: null,
  };
  let clockNow = start;
  const view: SimView = {
    n,
    size,
    createdAt,
    lastAccess: (i) => lastAny[i]!,
    lastWarm: (i) => (decayAt[i]! > 0 ? decayAt[i]! : createdAt[i]!),
    hourly: (i) => {
      const nowHour = Math.floor(clockNow / HOUR);
      for (let k = 0; k < 24; k++) {
        const h = nowHour - 24 + k;
        const slot = i * 24 + (h % 24);
        hourlyBuf[k] = hourStamp[slot] === h ? hourCounts[slot]! : 0;
      }
      return hourlyBuf;
    },
    snapshot: (i) => {
      snap.createdAt = createdAt[i]!;
      snap.sizeBytes = size[i]!;
      snap.reads = reads[i]!;
      snap.writes = writes[i]!;
      snap.scans = scans[i]!;
      snap.bytesRead = bytesRead[i]!;
      snap.decayAt = decayAt[i]!;
      snap.decay1h = d1h[i]!;
      snap.decay1d = d1d[i]!;
      snap.decay1w = d1w[i]!;
      snap.decay30d = d30[i]!;
      snap.firstAccess = Number.isNaN(firstAccess[i]!) ? null : firstAccess[i]!;
      return snap;
    },
  };

  const ledgers = opts.policies.map(() => new Ledger(n, initial, createdAt));

  // Forecast observations awaiting their label: features now, accesses counted H days later.
  const quality = new QualityTracker();
  const qualityTrained = new QualityTracker();
  const pending: {
    i: number;
    due: number;
    x: Float64Array;
    warmAt: number;
    model: number;
    reg: number;
    ewma: number;
    trained: boolean;
  }[] = [];
  const perStep = opts.observationsPerStep ?? 200;
  let rng = 0x9e3779b9;
  const rand = (): number => {
    rng ^= rng << 13;
    rng ^= rng >>> 17;
    rng ^= rng << 5;
    return (rng >>> 0) / 4294967296;
  };
  const warmTotal = (i: number): number => reads[i]! + writes[i]! - scans[i]!;

  let stepStart = start;
  const step = (now: number): void => {
    clockNow = now;
    // Storage for the step that ended, at each policy's placements.
    for (const l of ledgers) {
      const pl = l.state.placement;
      for (let i = 0; i < n; i++) {
        const from = Math.max(stepStart, createdAt[i]!);
        if (from >= now) continue;
        l.storage += cost.storage(pl[i]!, size[i]!, (now - from) / DAY);
      }
    }
    stepStart = now;
    // Labels that matured train the model, and score it against the baselines.
    // Observations are pushed in the order they fall due: the matured ones are a prefix.
    let matured = 0;
    while (matured < pending.length && pending[matured]!.due <= now) {
      const o = pending[matured++]!;
      const actual = warmTotal(o.i) - o.warmAt;
      quality.add(o.model, o.reg, o.ewma, actual);
      if (o.trained) qualityTrained.add(o.model, o.reg, o.ewma, actual);
      predictor.update(o.x, actual);
    }
    if (matured > 0) pending.splice(0, matured);
    // A sample of the datasets that exist now, as the live scheduler's reservoir takes from its
    // scan (drawing from all of them, datasets not yet created, would starve a young catalog).
    let existing = 0;
    for (let i = 0; i < n; i++) if (createdAt[i]! <= now) existing++;
    if (now + H * DAY <= end && existing > 0) {
      const want = Math.min(perStep, existing);
      for (let k = 0, tries = 0; k < want && tries < want * 1_000; tries++) {
        const i = Math.floor(rand() * n);
        if (createdAt[i]! > now) continue;
        k++;
        const x = new Float64Array(N_FEATURES);
        features(view.snapshot(i), now, H, x);
        const hourly = view.hourly(i);
        pending.push({
          i,
          due: now + H * DAY,
          x,
          warmAt: warmTotal(i),
          model: predictor.predict(x),
          reg: BASELINES.seedRegression(hourly, H),
          ewma: BASELINES.seedEwma(hourly, H),
          trained: predictor.updates >= settings.minModelUpdates,
        });
      }
    }
    // Each policy decides for every dataset that exists.
    opts.policies.forEach((p, k) => {
      const l = ledgers[k]!;
      const st = l.state;
      p.beginStep?.(view, now);
      const proposals: { i: number; target: number; decision: Decision }[] = [];
      for (let i = 0; i < n; i++) {
        if (createdAt[i]! > now) continue;
        const cur = st.placement[i]!;
        const r = p.decide(view, i, cur, now, st);
        if (typeof r === 'number') {
          if (r !== cur) carryOut(l, i, cur, r, now);
        } else if (r.target !== cur) proposals.push({ i, ...r });
      }
      if (proposals.length) {
        const byDecision = new Map(proposals.map((x) => [x.decision, x] as const));
        const chosen = p.usesBudget
          ? applyBudget(
              proposals.map((x) => x.decision),
              (d) => size[byDecision.get(d)!.i]!,
              settings,
            )
          : proposals.map((x) => x.decision);
        for (const d of chosen) {
          const x = byDecision.get(d)!;
          carryOut(l, x.i, st.placement[x.i]!, x.target, now);
        }
      }
    });
  };
  const carryOut = (l: Ledger, i: number, from: number, to: number, now: number): void => {
    const st = l.state;
    const m = cost.move(from, to, size[i]!, (now - st.placedAt[i]!) / DAY);
    l.movesCost += m.transfer;
    l.earlyDeletion += m.early_deletion;
    l.moves++;
    l.bytesMoved += size[i]!;
    st.placement[i] = to;
    st.placedAt[i] = now;
    st.lastMoveAt[i] = now;
  };

  let nextStep = start + stepMs;
  let events = 0;
  for (const e of trace.events()) {
    while (e.ts >= nextStep && nextStep <= end) {
      step(nextStep);
      nextStep += stepMs;
    }
    const i = index.get(e.dataset);
    if (i === undefined) throw new Error(`event for unknown dataset ${e.dataset}`);
    events++;
    const day = Math.min(D - 1, Math.floor((e.ts - start) / DAY));
    if (Number.isNaN(firstAccess[i]!)) firstAccess[i] = e.ts;
    lastAny[i] = Math.max(lastAny[i]!, e.ts);
    if (e.type === 'read') {
      reads[i]!++;
      bytesRead[i]! += e.bytes;
      for (const l of ledgers) {
        const pi = l.state.placement[i]!;
        l.requests += cost.readReq[pi]!;
        l.retrieval += (e.bytes / GB) * cost.retrieval[pi]!;
        l.egress += (e.bytes / GB) * cost.readEgress[pi]!;
        l.readsByPlacement[pi]!++;
      }
      if (dayReads) {
        dayReads[i * D + day]!++;
        dayBytes![i * D + day]! += e.bytes;
      }
    } else {
      writes[i]!++;
      for (const l of ledgers) l.requests += cost.writeReq[l.state.placement[i]!]!;
      if (dayWrites) dayWrites[i * D + day]!++;
    }
    if (e.scan) {
      scans[i]!++;
      continue;
    }
    // Decayed sums as the pipeline merges them: referenced at the latest non-scan access.
    const atNew = Math.max(decayAt[i]!, e.ts);
    d1h[i] =
      decayTo({ at: decayAt[i]!, value: d1h[i]! }, atNew, HALF_LIVES['1h']) +
      Math.pow(2, -(atNew - e.ts) / HALF_LIVES['1h']);
    d1d[i] =
      decayTo({ at: decayAt[i]!, value: d1d[i]! }, atNew, HALF_LIVES['1d']) +
      Math.pow(2, -(atNew - e.ts) / HALF_LIVES['1d']);
    d1w[i] =
      decayTo({ at: decayAt[i]!, value: d1w[i]! }, atNew, HALF_LIVES['1w']) +
      Math.pow(2, -(atNew - e.ts) / HALF_LIVES['1w']);
    d30[i] =
      decayTo({ at: decayAt[i]!, value: d30[i]! }, atNew, HALF_LIVES['30d']) +
      Math.pow(2, -(atNew - e.ts) / HALF_LIVES['30d']);
    decayAt[i] = atNew;
    const h = Math.floor(e.ts / HOUR);
    const slot = i * 24 + (h % 24);
    if (hourStamp[slot] !== h) {
      hourStamp[slot] = h;
      hourCounts[slot] = 0;
    }
    hourCounts[slot]!++;
  }
  while (nextStep <= end) {
    step(nextStep);
    nextStep += stepMs;
  }

  const results: PolicyResult[] = opts.policies.map((p, k) => summarise(p.name, p.description, ledgers[k]!, cost));
  if (opts.optimum) {
    results.push(
      optimum({
        cost,
        n,
        days: D,
        start,
        size,
        createdAt,
        initial,
        dayReads: dayReads!,
        dayBytes: dayBytes!,
        dayWrites: dayWrites!,
        maxLatencyMs: settings.defaultMaxLatencyMs,
      }),
    );
  }
  if (informed) {
    // Planned on the expected use where the trace knows it (else on what happened), charged
    // with what happened, so it compares with the policies on this very trace.
    const use = trace.expected!();
    const plan = {
      reads: Float64Array.from(dayReads!),
      bytes: Float64Array.from(dayBytes!),
      writes: Float64Array.from(dayWrites!),
    };
    for (let i = 0; i < n; i++) {
      if (use.known[i] !== 1) continue;
      plan.reads.set(use.reads.subarray(i * D, (i + 1) * D), i * D);
      plan.bytes.set(use.bytes.subarray(i * D, (i + 1) * D), i * D);
      plan.writes.set(use.writes.subarray(i * D, (i + 1) * D), i * D);
    }
    results.push({
      ...optimum({
        cost,
        n,
        days: D,
        start,
        size,
        createdAt,
        initial,
        dayReads: plan.reads,
        dayBytes: plan.bytes,
        dayWrites: plan.writes,
        maxLatencyMs: settings.defaultMaxLatencyMs,
        charge: { dayReads: dayReads!, dayBytes: dayBytes!, dayWrites: dayWrites! },
      }),
      policy: 'informed',
      description:
        "informed bound: daily placements planned on the generator's true expected use (what a perfect forecast could know), charged with what happened",
    });
  }
  return {
    workload: cat.workload,
    datasets: n,
    days: D,
    events,
    policies: results,
    forecast_quality: quality.report(),
    forecast_quality_trained: qualityTrained.report(),
    seconds: (Date.now() - t0) / 1000,
  };
}

function summarise(name: string, description: string, l: Ledger, cost: CostModel): PolicyResult {
  const total = l.storage + l.requests + l.retrieval + l.egress + l.movesCost + l.earlyDeletion;
  return {
    policy: name,
    description,
    total: money(total),
    storage: money(l.storage),
    requests: money(l.requests),
    retrieval: money(l.retrieval),
    egress: money(l.egress),
    moves_cost: money(l.movesCost),
    early_deletion: money(l.earlyDeletion),
    moves: l.moves,
    bytes_moved: l.bytesMoved,
    ...readFacts(l.readsByPlacement, cost),
  };
}

/** Reads, the share served from COLD, and the p95 first-byte latency, from reads per placement. */
export function readFacts(
  readsByPlacement: Float64Array,
  cost: CostModel,
): { reads: number; cold_read_share: number; p95_first_byte_ms: number } {
  let total = 0;
  let cold = 0;
  PLACEMENTS.forEach((p, i) => {
    total += readsByPlacement[i]!;
    if (p.tier === 'COLD') cold += readsByPlacement[i]!;
  });
  const order = PLACEMENTS.map((_, i) => i).sort((a, b) => cost.firstByteMs[a]! - cost.firstByteMs[b]!);
  let seen = 0;
  let p95 = 0;
  for (const i of order) {
    if (readsByPlacement[i]! === 0) continue;
    seen += readsByPlacement[i]!;
    p95 = cost.firstByteMs[i]!;
    if (seen >= 0.95 * total) break;
  }
  return {
    reads: total,
    cold_read_share: total ? Math.round((cold / total) * 10_000) / 10_000 : 0,
    p95_first_byte_ms: p95,
  };
}

export function money(v: number): number {
  return Math.round(v * 100) / 100;
}
