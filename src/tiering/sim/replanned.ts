/**
 * The re-planned bound: issue 13's fair yardstick for "within 1.05× of the informed bound". The
 * informed bound plans each dataset once on its expected use over the whole run, foresight of its
 * rate and of changes to come included. This one plans with the same DP on what a perfect learner
 * could know at each day's start, executes that day's step, and plans again the next day: an
 * online planner, charged with what happened, like the policies.
 *
 * What it knows at day t's start (t after the creation day, when the policies decide too):
 * - of the dataset itself: its size, creation time, current placement and days there, and its
 *   own reads, bytes and writes on days before t (never day t or later);
 * - of its workload (what a perfect learner of the workload would have learnt from other data):
 *   where the generator's use is a Poisson process, the shape of the dataset's expected use over
 *   time up to a level (the cooling curve from its creation, its zone's working week, its month-end
 *   window and peak-to-background ratio, bytes per read), and the distribution of the other
 *   datasets' levels in its group (ScaleLearner); elsewhere (read-once), how the others of its
 *   group went on after the same history (HistoryLearner).
 * The plan is the posterior mean of the level times the shape: certainty-equivalent, not the
 * Bayes-optimal policy, so it is a yardstick an online policy can match, not a bound none can
 * beat. The shape is more than a learner sees in a few weeks, which makes the yardstick cheaper,
 * never dearer: the product is not flattered by it.
 *
 * Cost: a DP solve is some 250 array operations a planned day; daily re-planning is about 180
 * solves a dataset. Levels are rounded to a geometric grid (ratio `grid`) and each dataset's
 * solves are kept by rounded level: by Bellman's principle the table of a solve made on day t
 * with the same plan gives the same decisions on every later day, so a dataset re-plans only when
 * its rounded level changes. grid 1 plans on the exact posterior mean every day.
 */
import { type CostModel } from '../cost';
import type { BoundInput, DayUse } from './bounds';
import { layout } from './optimum';
import { DatasetPrices, planBackward, type DayPlan, type PlanTable } from './replan-dp';
import { HistoryLearner, historyKeys, ScaleLearner, type DaySeries, type HistoryStats } from './replan-learner';
import { money, readFacts, type PolicyResult } from './result';
import type { ExpectedUse } from './trace';

const DAY = 86_400_000;
const GB = 1024 ** 3;

export interface ReplanOptions {
  /** Levels are planned on a geometric grid of this ratio (1: the exact posterior mean, re-planned daily). */
  grid: number;
  /** Group of each dataset (see groupKeys): learners learn from the others of the same group. */
  groups: readonly string[];
  /** Told each dataset's placement for each day, after that day's step (for tests and ledgers). */
  onDay?: (i: number, d: number, placement: number) => void;
}

/** Costs charged day by day with what happened. */
class Charges {
  storage = 0;
  requests = 0;
  retrieval = 0;
  egress = 0;
  transfer = 0;
  early = 0;
  moves = 0;
  bytesMoved = 0;
  solves = 0;
  readonly readsBy: Float64Array;

  constructor(P: number) {
    this.readsBy = new Float64Array(P);
  }
}

/** How dataset i plans: a table for day t (solved or kept), under what it knew at t's start. */
type Planner = (t: number) => PlanTable;

export function replannedBound(inp: BoundInput, actual: DayUse, expected: ExpectedUse, o: ReplanOptions): PolicyResult {
  const { cost, n, days: D, start } = inp;
  const L = layout(cost, inp.maxLatencyMs);
  const pr = new DatasetPrices(cost, L);
  const row = (a: Float64Array, i: number): Float64Array => a.subarray(i * D, (i + 1) * D);
  const levels = new Float64Array(n).fill(NaN);
  const unknown: number[] = [];
  for (let i = 0; i < n; i++) {
    if (expected.known[i] !== 1) unknown.push(i);
    else levels[i] = row(expected.reads, i).reduce((s, x) => s + x, 0);
  }
  const firstDay = (i: number): number => Math.max(0, Math.min(D - 1, Math.floor((inp.createdAt[i]! - start) / DAY)));
  const useOf = (i: number): DaySeries => ({
    reads: row(actual.reads, i),
    bytes: row(actual.bytes, i),
    writes: row(actual.writes, i),
  });
  const scale = new ScaleLearner(o.groups, levels);
  const history = new HistoryLearner(
    o.groups,
    unknown,
    (i) => ({ use: useOf(i), c: firstDay(i), size: inp.size[i]! }),
    D,
  );
  const tot = new Charges(L.P);
  for (let i = 0; i < n; i++) {
    const c = firstDay(i);
    const firstFrac = (start + (c + 1) * DAY - Math.max(inp.createdAt[i]!, start)) / DAY;
    const x = { days: D, c, firstFrac };
    pr.price(inp.size[i]!);
    const solve = (plan: DayPlan, t: number): PlanTable => {
      tot.solves++;
      return planBackward(pr, plan, x, t);
    };
    const use = useOf(i);
    const plan =
      expected.known[i] === 1
        ? scalePlanner(i, levels[i]!, expected, D, use, c, scale, o.grid, solve)
        : historyPlanner(i, inp.size[i]!, use, c, D, history, solve);
    run(cost, L, pr, { i, sz: inp.size[i]!, initial: inp.initial[i]!, ...x }, use, plan, tot, o.onDay);
  }
  const total = tot.storage + tot.requests + tot.retrieval + tot.egress + tot.transfer + tot.early;
  return {
    policy: 'replanned',
    description:
      `re-planned bound: the informed planner re-planned daily on what a perfect learner knows so far ` +
      `(level grid ${o.grid}, ${tot.solves.toLocaleString('en-US')} DP solves), charged with what happened`,
    total: money(total),
    storage: money(tot.storage),
    requests: money(tot.requests),
    retrieval: money(tot.retrieval),
    egress: money(tot.egress),
    moves_cost: money(tot.transfer),
    early_deletion: money(tot.early),
    moves: tot.moves,
    bytes_moved: tot.bytesMoved,
    ...readFacts(tot.readsBy, cost),
  };
}

/** Known use: the shape is the expectation over its level; the level is learnt from the reads so far. */
function scalePlanner(
  i: number,
  level: number,
  expected: ExpectedUse,
  D: number,
  use: DaySeries,
  c: number,
  learner: ScaleLearner,
  grid: number,
  solve: (plan: DayPlan, t: number) => PlanTable,
): Planner {
  const shape = {
    reads: expected.reads.subarray(i * D, (i + 1) * D),
    bytes: expected.bytes.subarray(i * D, (i + 1) * D),
    writes: expected.writes.subarray(i * D, (i + 1) * D),
  };
  const tables = new Map<number, PlanTable>();
  if (!(level > 0)) return (t) => tables.get(0) ?? tables.set(0, solve({ ...shape, scale: 1 }, t)).get(0)!;
  let reads = 0;
  let exposure = 0;
  let seen = c;
  return (t) => {
    for (; seen < t; seen++) {
      reads += use.reads[seen]!;
      exposure += shape.reads[seen]! / level;
    }
    const mean = learner.posteriorMean(i, reads, exposure);
    const key = grid > 1 ? Math.round(Math.log(Math.max(mean, 1e-12)) / Math.log(grid)) : mean;
    let table = tables.get(key);
    if (!table) {
      const planned = grid > 1 ? grid ** key : mean;
      table = solve({ ...shape, scale: planned / level }, t);
      tables.set(key, table);
    }
    return table;
  };
}

/** History-dependent use: the others' mean use after the same history; solved again when that plan changes. */
function historyPlanner(
  i: number,
  size: number,
  use: DaySeries,
  c: number,
  D: number,
  learner: HistoryLearner,
  solve: (plan: DayPlan, t: number) => PlanTable,
): Planner {
  const keys = historyKeys(use.reads, c, D);
  let own: HistoryStats | undefined;
  const next = { reads: new Float64Array(D), bytes: new Float64Array(D), writes: new Float64Array(D) };
  let last: { plan: typeof next; table: PlanTable } | undefined;
  return (t) => {
    // Its own use is left out of the others' (computed once: it is the whole trace's, used only to subtract).
    own ??= learner.own(keys, use, size);
    learner.forecast(i, own, size, keys[t]!, t, next);
    if (last && sameFrom(last.plan, next, t)) return last.table;
    const plan = {
      reads: Float64Array.from(next.reads),
      bytes: Float64Array.from(next.bytes),
      writes: Float64Array.from(next.writes),
    };
    last = { plan, table: solve({ ...plan, scale: 1 }, t) };
    return last.table;
  };
}

function sameFrom(a: DaySeries, b: DaySeries, t: number): boolean {
  for (let d = t; d < a.reads.length; d++)
    if (a.reads[d] !== b.reads[d] || a.bytes[d] !== b.bytes[d] || a.writes[d] !== b.writes[d]) return false;
  return true;
}

/** Executes a dataset's days: at each day's start (after creation) the planner's step, then the day charged as it happened. */
function run(
  cost: CostModel,
  L: ReturnType<typeof layout>,
  pr: DatasetPrices,
  x: { i: number; sz: number; initial: number; days: number; c: number; firstFrac: number },
  use: DaySeries,
  plan: Planner,
  tot: Charges,
  onDay?: ReplanOptions['onDay'],
): void {
  const { off, cap, stateP, stateA } = L;
  const { sz, c, days: D } = x;
  let s = off[x.initial]!;
  for (let d = c; d < D; d++) {
    if (d > c) {
      const table = plan(d);
      const q = table.act[(d - table.from) * L.S + s]!;
      if (q >= 0) {
        const p = stateP[s]!;
        const m = cost.move(p, q, sz, stateA[s]! >= cap[p]! ? Infinity : stateA[s]!);
        tot.transfer += m.transfer;
        tot.early += m.early_deletion;
        tot.moves++;
        tot.bytesMoved += sz;
        s = off[q]!;
      }
    }
    const p = stateP[s]!;
    onDay?.(x.i, d, p);
    const r = use.reads[d]!;
    const b = use.bytes[d]! / GB;
    tot.storage += cost.storage(p, sz, d === c ? x.firstFrac : 1);
    tot.requests += r * pr.perRead[p]! + use.writes[d]! * pr.perWrite[p]!;
    tot.retrieval += b * cost.retrieval[p]!;
    tot.egress += b * cost.readEgress[p]!;
    tot.readsBy[p]! += r;
    s = off[p]! + Math.min(stateA[s]! + 1, cap[p]!);
  }
}
