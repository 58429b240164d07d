/**
 * What the fleet taught the policy, as GET /api/model and the Model page show it: the read split
 * prior (read-split.ts), the age trend (cooling.ts) and the return curve of idle spells
 * (return-curve.ts), each with what it rests on and what it changes in the decisions, so an
 * operator can see why the policy is careful or bold with a dataset.
 */
import type { AgeTrend } from './cooling';
import { LABEL_DAYS, type Predictor } from './predictor';
import { READS_PER_ACCESS_PRIOR, type ReadSplitPrior } from './read-share';
import { READ_SPLIT_MIN_ACCESSES, ReadSplitEstimator, type ReadSplitTotals } from './read-split';
import { RETURN_CLASS_EDGES, RETURN_IDLE_EDGES, ReturnCurve } from './return-curve';

export interface FleetLessons {
  read_split: {
    /** The share of accesses priced as reads before a dataset's own count says, and its weight in accesses. */
    share: number;
    weight_accesses: number;
    /** False while fewer than min_accesses were seen: the built-in prior stands. */
    learnt: boolean;
    datasets: number;
    accesses: number;
    min_accesses: number;
    /** What the live policy prices with: summed at the start of the scheduler's last run (the built-in prior before one). */
    in_use: { share: number; weight_accesses: number };
    what_it_changes: string;
  };
  age_trend: {
    /** Matured forecasts the model (and the trend with it) learnt from. */
    matured_forecasts: number;
    /** Per age bin: the fleet's accesses of the month after per access of the month before (at most 1). */
    bins: {
      age_from_days: number;
      age_to_days: number | null;
      ratio: number;
      last_month_accesses: number;
      next_month_accesses: number;
    }[];
    what_it_changes: string;
  };
  return_curve: {
    /** Dataset-days the fleet's idle data was watched for, and the returns (uses after an idle spell) seen. */
    dataset_days: number;
    returns: number;
    /** The chance a dataset idle `idle_days` is used again within 30, 90 and 180 days (null: too little seen). */
    read_again: { idle_days: number; within_30: number | null; within_90: number | null; within_180: number | null }[];
    what_it_changes: string;
  };
}

/** What GET /api/model and the Model page need from the service. */
export interface FleetSources {
  predictor: Pick<Predictor, 'updates' | 'ageTrend' | 'returns'>;
  readSplit: ReadSplitPrior | null;
  repo: { scan: { readSplitTotals(): Promise<ReadSplitTotals> } };
}

const CHANGES = {
  read_split:
    "A dataset's forecast accesses are split into reads and writes by its own count shrunk toward this share: a higher share prices more reads, so demotions to slower tiers with retrieval fees cost more and wait.",
  age_trend:
    'A placement is priced as a plan past the horizon, with the use after it carried on by these ratios: below 1 the fleet says data of that age keeps cooling, so a plan that moves on to COLD later looks cheaper and demotions are bolder; at 1 the forecast is repeated.',
  return_curve:
    'While the model is still learning, data idle less than a horizon is forecast from these chances: the likelier a return, the more reads are priced and the longer a demotion waits.',
} as const;

export async function fleetLessons(t: FleetSources): Promise<FleetLessons> {
  const totals = await t.repo.scan.readSplitTotals();
  const learnt = ReadSplitEstimator.prior(totals);
  const prior = learnt ?? READS_PER_ACCESS_PRIOR;
  const inUse = t.readSplit ?? READS_PER_ACCESS_PRIOR;
  return {
    read_split: {
      share: round(prior.share, 4),
      weight_accesses: round(prior.accesses, 1),
      learnt: learnt !== null,
      datasets: totals.datasets,
      accesses: totals.accesses,
      min_accesses: READ_SPLIT_MIN_ACCESSES,
      in_use: { share: round(inUse.share, 4), weight_accesses: round(inUse.accesses, 1) },
      what_it_changes: CHANGES.read_split,
    },
    age_trend: {
      matured_forecasts: t.predictor.updates,
      bins: ageBins(t.predictor.ageTrend),
      what_it_changes: CHANGES.age_trend,
    },
    return_curve: { ...returnSummary(t.predictor.returns), what_it_changes: CHANGES.return_curve },
  };
}

/**
 * The trend's bins, by powers of two of (1 + age in days) as cooling.ts bins them: bin b holds
 * ages [2^b − 1, 2^(b+1) − 1), the last one open-ended; each bin's ratio asked of the trend itself.
 */
function ageBins(trend: AgeTrend): FleetLessons['age_trend']['bins'] {
  const s = trend.state();
  return s.last.map((last, b) => ({
    age_from_days: 2 ** b - 1,
    age_to_days: b === s.last.length - 1 ? null : 2 ** (b + 1) - 1,
    ratio: round(trend.ratio(2 ** b - 1), 4),
    last_month_accesses: round(last, 1),
    next_month_accesses: round(s.next[b]!, 1),
  }));
}

/** The idle spells over every class pooled, walked as the policy walks one class's (ReturnCurve.expectedReturns). */
function returnSummary(curve: ReturnCurve): Omit<FleetLessons['return_curve'], 'what_it_changes'> {
  const s = curve.state();
  const bins = RETURN_IDLE_EDGES.length;
  const exposure = new Array<number>(s.exposure.length).fill(0);
  const returns = new Array<number>(s.returns.length).fill(0);
  for (let c = 0; c < RETURN_CLASS_EDGES.length; c++)
    for (let b = 0; b < bins; b++) {
      exposure[b]! += s.exposure[c * bins + b]!;
      returns[b]! += s.returns[c * bins + b]!;
    }
  const pooled = new ReturnCurve({ at: null, census: [], exposure, returns });
  const chance = (idle: number, days: number): number | null => {
    const r = pooled.expectedReturns(0, idle, days);
    return r === null ? null : round(1 - Math.exp(-r), 4);
  };
  return {
    dataset_days: round(
      exposure.reduce((a, v) => a + v, 0),
      1,
    ),
    returns: round(
      returns.reduce((a, v) => a + v, 0),
      1,
    ),
    read_again: [7, LABEL_DAYS].map((idle) => ({
      idle_days: idle,
      within_30: chance(idle, 30),
      within_90: chance(idle, 90),
      within_180: chance(idle, 180),
    })),
  };
}

function round(v: number, d: number): number {
  const f = 10 ** d;
  return Math.round(v * f) / f;
}
