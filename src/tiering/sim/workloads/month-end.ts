/** One population of reporting datasets that re-warm at each month's end. */
import type { TraceDataset } from '../trace';
import {
  createdBefore,
  datasetName,
  DAY_MS,
  drawSize,
  expectedPartBytes,
  HourSampler,
  hourWeights,
  type PopulationBuilder,
  readEvent,
  uniformTs,
  type WorkloadGenerator,
  writeEvent,
} from './helpers';

/**
 * Outside the reporting window a dataset is read at a log-normal background rate (median one
 * read a month). In the last 2 or 3 days of each month (per dataset) it is read at a log-normal
 * peak rate (median 10 a day) during working hours (weekends included: the close does not wait),
 * the new month's figures land as Poisson(1.5) writes on the window's first day, and the 1st of
 * the next month keeps 20% of the peak as stragglers.
 */
const MONTH_END = {
  backgroundReadsPerDayMedian: 1 / 30,
  backgroundSigma: 0.7,
  backgroundWriteRatio: 0.3,
  windowDays: [2, 3],
  peakReadsPerDayMedian: 10,
  peakSigma: 0.8,
  loadWritesMean: 1.5,
  stragglerFraction: 0.2,
};

/** Days from the window's UTC date to its month's last day (0 on the last day), and its day of month. */
function monthPosition(ts: number): { toMonthEnd: number; dayOfMonth: number } {
  const d = new Date(ts);
  const daysInMonth = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  return { toMonthEnd: daysInMonth - d.getUTCDate(), dayOfMonth: d.getUTCDate() };
}

const buildMonthEnd: PopulationBuilder = (ctx) => {
  const { rng, count } = ctx;
  const datasets: TraceDataset[] = [];
  const background = new Float64Array(count);
  const peak = new Float64Array(count);
  const windowDays = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    datasets.push({
      name: datasetName(ctx.prefix, i, count),
      size_bytes: drawSize(rng),
      created_at: createdBefore(rng, ctx.start),
    });
    background[i] = rng.logNormal(MONTH_END.backgroundReadsPerDayMedian, MONTH_END.backgroundSigma);
    peak[i] = rng.logNormal(MONTH_END.peakReadsPerDayMedian, MONTH_END.peakSigma);
    windowDays[i] = MONTH_END.windowDays[rng.below(MONTH_END.windowDays.length)]!;
  }
  /** Dataset i's expected reads and writes on a day, and whether its reads keep working hours. */
  const rates = (
    i: number,
    toMonthEnd: number,
    dayOfMonth: number,
  ): { reads: number; writes: number; busy: boolean } => {
    const inWindow = toMonthEnd < windowDays[i]!;
    let reads = background[i]!;
    if (inWindow) reads = peak[i]!;
    else if (dayOfMonth === 1) reads = peak[i]! * MONTH_END.stragglerFraction;
    let writes = background[i]! * MONTH_END.backgroundWriteRatio;
    if (toMonthEnd === windowDays[i]! - 1) writes += MONTH_END.loadWritesMean;
    return { reads, writes, busy: inWindow || dayOfMonth === 1 };
  };
  return {
    datasets,
    emitDay(day, r, out) {
      // The calendar date of a window is that of its midpoint (exact when start is midnight UTC).
      const { toMonthEnd, dayOfMonth } = monthPosition(day.start + DAY_MS / 2);
      const working = new HourSampler(hourWeights(day.start, 0, false));
      for (let i = 0; i < count; i++) {
        const ds = datasets[i]!;
        const { reads, writes, busy } = rates(i, toMonthEnd, dayOfMonth);
        const at = (): number => (busy ? working.sample(r, day.start, day.end) : uniformTs(r, day.start, day.end));
        for (let n = r.poisson(reads); n > 0; n--) out.push(readEvent(at(), ds, r));
        for (let n = r.poisson(writes); n > 0; n--) out.push(writeEvent(at(), ds, r));
      }
    },
    expectDay(day, add) {
      const { toMonthEnd, dayOfMonth } = monthPosition(day.start + DAY_MS / 2);
      for (let i = 0; i < count; i++) {
        const { reads, writes } = rates(i, toMonthEnd, dayOfMonth);
        add(i, reads, reads * expectedPartBytes(datasets[i]!.size_bytes), writes);
      }
    },
  };
};

export const monthEnd: WorkloadGenerator = {
  description:
    'Reporting datasets, idle most of the month (about one read a month), that re-warm in the last 2 or 3 days of each month ' +
    '(new figures written, then read ~10 times a day) with stragglers on the 1st, then cool again.',
  build: buildMonthEnd,
};
