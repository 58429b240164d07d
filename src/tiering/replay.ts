/**
 * The what-if replay of recorded history: a trace rebuilt from this installation's own access
 * buckets, replayed under another catalog and settings next to the baselines and the offline
 * optimum. Read-only: nothing is stored or moved.
 */
import type { PriceCatalog } from './catalog';
import { CostModel } from './cost';
import type { PolicySettings } from './decision';
import type { HistoryBucket, HistoryRepository } from './history-repository';
import { TieringPolicy } from './policy';
import { LABEL_DAYS, Predictor } from './predictor';
import { matrixCell, PRICE_VARIANTS, type MatrixCell } from './sim/matrix';
import { BASELINE_POLICIES, productPolicy } from './sim/policies';
import { simulate, type SimResult } from './sim/runner';
import type { Trace, TraceDataset, TraceEvent } from './sim/trace';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Bounds that keep a replay within a couple of seconds on two cores (the page says so). */
export const REPLAY_LIMITS = { maxDays: 90, maxDatasets: 2_000, maxEvents: 300_000 } as const;
/**
 * The price-variant matrix replays the history seven times over, so it takes a smaller sample:
 * the largest datasets of those asked for and fewer events (thinned as the replay's are).
 */
export const MATRIX_LIMITS = { maxDatasets: 300, maxEvents: 40_000 } as const;

export interface ReplayRequest {
  days: number;
  datasets: number;
  catalog: PriceCatalog;
  catalogLabel: string;
  settings: PolicySettings;
}

export interface ReplayOutcome {
  result: SimResult;
  request: { days: number; datasets: number; datasets_total: number; catalog: string; settings: PolicySettings };
  /** Events in the product's history over the window, and the share replayed (1 = all). */
  history_events: number;
  thinning: number;
  start: number;
  matrix: HistoryMatrix;
}

/** The product ÷ the best simple rule under each price variant, over a sample of the same history. */
export interface HistoryMatrix {
  cells: MatrixCell[];
  datasets: number;
  events: number;
  history_events: number;
  thinning: number;
  seconds: number;
}

type SizedBucket = HistoryBucket & { size: number };

/**
 * Each bucket expanded into events spread evenly over its span, in time order; past
 * REPLAY_LIMITS.maxEvents, each bucket keeps the same share of its events (`thinning`).
 */
export function* spreadEvents(
  buckets: readonly SizedBucket[],
  nameOf: ReadonlyMap<number, string>,
  createdAt: ReadonlyMap<string, number>,
  thinning: number,
): Generator<TraceEvent> {
  // Buckets are in time order, but two buckets' spread events interleave: collect each
  // hour's events and sort them before handing them out.
  let hour = -1;
  let pending: TraceEvent[] = [];
  let carry = 0;
  for (const b of buckets) {
    const h = Math.floor(b.bucket_start / HOUR);
    if (h !== hour) {
      pending.sort((x, y) => x.ts - y.ts);
      yield* pending;
      pending = [];
      hour = h;
    }
    const name = nameOf.get(b.dataset_id)!;
    const total = b.reads + b.writes;
    if (total === 0) continue;
    const keepExact = total * thinning + carry;
    const keep = Math.floor(keepExact);
    carry = keepExact - keep;
    if (keep === 0) continue;
    const bytesEach = Math.round(b.bytes / total);
    const readShare = b.reads / total;
    const scanShare = b.scans / total;
    const from = Math.max(b.bucket_start, createdAt.get(name)!);
    const span = b.bucket_start + b.size - from;
    for (let k = 0; k < keep; k++) {
      const ts = from + Math.floor(((k + 0.5) * span) / keep);
      pending.push({
        ts,
        dataset: name,
        type: k / keep < readShare ? 'read' : 'write',
        bytes: bytesEach,
        scan: k / keep < scanShare,
      });
    }
  }
  pending.sort((x, y) => x.ts - y.ts);
  yield* pending;
}

/**
 * A trace from the product's own history: the largest datasets (they carry most of the cost),
 * their hour buckets over the last `days` days (plus minute buckets the hourly rollup has not
 * reached), each bucket expanded into events spread evenly over its hour. Scans stay scans.
 * Datasets start where they were at the window's start (undoing later moves).
 */
export async function buildTrace(
  history: HistoryRepository,
  now: number,
  days: number,
  maxDatasets: number,
  maxEvents: number = REPLAY_LIMITS.maxEvents,
): Promise<{ trace: Trace; historyEvents: number; thinning: number; start: number }> {
  const start = Math.floor(now / DAY) * DAY - days * DAY + DAY; // whole days, today included
  const end = start + days * DAY;
  const ds = await history.largestDatasets(maxDatasets);
  const ids = ds.map((x) => x.id);
  const [placedAt, hours, rolledUntil] = await Promise.all([
    history.placementsAt(ids, start),
    history.buckets(ids, 'h', start, end),
    history.rolledUntil(),
  ]);
  const minutes = await history.buckets(ids, 'm', Math.max(start, rolledUntil), end);
  const nameOf = new Map(ds.map((x) => [x.id, `ds-${x.id}`]));
  const buckets = [...hours.map((b) => ({ ...b, size: HOUR })), ...minutes.map((b) => ({ ...b, size: 60_000 }))].sort(
    (a, b) => a.bucket_start - b.bucket_start,
  );
  const historyEvents = buckets.reduce((a, b) => a + b.reads + b.writes, 0);
  const thinning = historyEvents > maxEvents ? maxEvents / historyEvents : 1;
  const datasets: TraceDataset[] = ds.map((x) => {
    const at = placedAt.get(x.id) ?? { location: x.location, tier: x.tier };
    return {
      name: nameOf.get(x.id)!,
      size_bytes: Math.max(0, x.size_bytes),
      created_at: Math.max(start, x.created_at),
      location: at.location,
      tier: at.tier,
    };
  });
  const createdAt = new Map(datasets.map((x) => [x.name, x.created_at]));
  return {
    trace: {
      catalog: {
        workload: `history (last ${days} days)`,
        description: 'this installation’s recorded accesses',
        start,
        days,
        datasets,
      },
      events: () => spreadEvents(buckets, nameOf, createdAt, thinning),
    },
    historyEvents,
    thinning,
    start,
  };
}

/** Replays the history under the requested catalog and settings, next to the baselines and the offline optimum. */
export async function replayHistory(
  history: HistoryRepository,
  now: number,
  req: ReplayRequest,
  /** How the scheduler makes a cost model of a catalog (priced by the stores' storage classes). */
  modelOf: (catalog: PriceCatalog) => CostModel = (c) => new CostModel(c),
): Promise<ReplayOutcome> {
  const { trace, historyEvents, thinning, start } = await buildTrace(history, now, req.days, req.datasets);
  const cost = modelOf(req.catalog);
  const predictor = new Predictor(LABEL_DAYS);
  const policies = [
    productPolicy(new TieringPolicy(cost, predictor, req.settings)),
    ...Object.values(BASELINE_POLICIES),
  ];
  // simulate() is synchronous and CPU-bound; REPLAY_LIMITS keep it to a few seconds at most.
  const result = simulate(trace, { cost, settings: req.settings, predictor, policies, optimum: true });
  return {
    result,
    request: {
      days: req.days,
      datasets: trace.catalog.datasets.length,
      datasets_total: await history.datasetCount(),
      catalog: req.catalogLabel,
      settings: req.settings,
    },
    history_events: historyEvents,
    thinning,
    start,
    matrix: await historyMatrix(history, now, req),
  };
}

/**
 * The robustness matrix over this installation's history: each price variant applied to the
 * requested catalog, the product against always-HOT, S3-IT-like and FabricPool-like. Bounded by
 * MATRIX_LIMITS so the page still answers within seconds at 100,000 datasets.
 */
export async function historyMatrix(
  history: HistoryRepository,
  now: number,
  req: ReplayRequest,
): Promise<HistoryMatrix> {
  const t0 = Date.now();
  const { trace, historyEvents, thinning } = await buildTrace(
    history,
    now,
    req.days,
    Math.min(req.datasets, MATRIX_LIMITS.maxDatasets),
    MATRIX_LIMITS.maxEvents,
  );
  const cells = PRICE_VARIANTS.map((v) => matrixCell(trace, req.catalog, v, req.settings));
  return {
    cells,
    datasets: trace.catalog.datasets.length,
    events: cells[0]?.events ?? 0,
    history_events: historyEvents,
    thinning,
    seconds: (Date.now() - t0) / 1000,
  };
}
