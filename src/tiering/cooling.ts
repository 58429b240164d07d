/**
 * How the fleet's use goes on with age, learnt from the forecasts that matured. The model
 * forecasts one label window (30 days); a plan that looks further (plan-ahead.ts: a move to
 * COLD commits 90 days) repeated that window's rate, which for data that keeps cooling errs high
 * and made the way on from WARM to COLD look no cheaper than staying. Here each matured
 * observation adds, by the dataset's age, what came in its window against what the dataset had
 * counted in the month before (its 30-day decayed rate over the window): the fleet's ratio of
 * next month to last month at that age. Data whose use is steady or periodic keeps a ratio near
 * 1 and its plans repeat the forecast as before; data that cools shows the ratio falling with
 * age. Never above 1: a plan does not bet on use growing beyond its forecast. Learnt from the
 * fleet, never from a workload's parameters, and kept with the model's state.
 */

import type { Usage } from './cost';
import type { Forecast } from './decision';

/** Age bins by powers of two of (1 + age in days): [0,1), [1,3), [3,7), … up to about 11 years. */
const AGE_BINS = 12;
/** The weight of the prior ratio 1, in accesses on both sides. */
const PRIOR_ACCESSES = 50;
/** The sums forget as the model's calibration does, so the ratio follows drift. */
const DECAY = 0.9995;

export interface AgeTrendState {
  next: number[];
  last: number[];
}

function ageBin(ageDays: number): number {
  return Math.min(AGE_BINS - 1, Math.max(0, Math.floor(Math.log2(1 + Math.max(0, ageDays)))));
}

export class AgeTrend {
  private readonly next = new Float64Array(AGE_BINS);
  private readonly last = new Float64Array(AGE_BINS);

  constructor(state?: AgeTrendState) {
    if (state?.next.length === AGE_BINS && state.last.length === AGE_BINS) {
      this.next.set(state.next);
      this.last.set(state.last);
    }
  }

  /** One matured observation: the dataset's age then, its last month's accesses then, and what came. */
  add(ageDays: number, lastMonth: number, accesses: number): void {
    for (let b = 0; b < AGE_BINS; b++) {
      this.next[b]! *= DECAY;
      this.last[b]! *= DECAY;
    }
    const b = ageBin(ageDays);
    this.next[b]! += Math.max(0, accesses);
    this.last[b]! += Math.max(0, lastMonth);
  }

  /** The fleet's accesses of the month after, per access of the month before, at this age (at most 1). */
  ratio(ageDays: number): number {
    const b = ageBin(ageDays);
    return Math.min(1, (this.next[b]! + PRIOR_ACCESSES) / (this.last[b]! + PRIOR_ACCESSES));
  }

  state(): AgeTrendState {
    return { next: Array.from(this.next), last: Array.from(this.last) };
  }
}

/**
 * The use over (fromDays, toDays] from now, in units of the forecast over one window of
 * `windowDays`: the first window is the forecast, each later one the one before times the
 * fleet's ratio at the age the dataset will have then. With the ratio at 1 this is the forecast
 * repeated, (toDays − fromDays) / windowDays.
 */
export function useAhead(
  trend: AgeTrend,
  ageDays: number,
  fromDays: number,
  toDays: number,
  windowDays: number,
): number {
  let level = 1;
  let total = 0;
  for (let k = 0; k * windowDays < toDays; k++) {
    if (k > 0) level *= trend.ratio(ageDays + k * windowDays);
    const lo = Math.max(fromDays, k * windowDays);
    const hi = Math.min(toDays, (k + 1) * windowDays);
    if (hi > lo) total += (level * (hi - lo)) / windowDays;
  }
  return total;
}

/**
 * The use after the horizon `H` until `days` (plan-ahead.ts): the forecast's own use continued as
 * the fleet's data of this age goes on (useAhead over windows of the model's `L` days), scans
 * repeated at their pace (a nightly scan does not cool). Written into `out`.
 */
export function laterUsage(
  trend: AgeTrend,
  c: { usage: Usage; f: Forecast; size: number; age: number; H: number; L: number; days: number },
  out: Usage,
): Usage {
  const { usage, f, size, age, H, L, days } = c;
  const repeat = (days - H) / H;
  const cools = (useAhead(trend, age, H, days, L) * L) / H;
  const scanBytes = f.scans * size;
  out.reads = (usage.reads - f.scans) * cools + f.scans * repeat;
  out.readBytes = (usage.readBytes - scanBytes) * cools + scanBytes * repeat;
  out.writes = usage.writes * cools;
  out.writeBytes = usage.writeBytes * cools;
  return out;
}
