/** One population read in full by a weekly batch job. */
import type { TraceDataset } from '../trace';
import {
  createdBefore,
  datasetName,
  DAY_MS,
  drawSize,
  expectedPartBytes,
  HOUR_MS,
  MINUTE_MS,
  type PopulationBuilder,
  readEvent,
  uniformTs,
  type WorkloadGenerator,
  writeEvent,
} from './helpers';

/**
 * Each dataset is read whole once a week by its batch job (a report, a model retrain): on its
 * own weekday (UTC), at its own slot between 01:00 and 06:00 ± a few minutes (normal, σ 5 min).
 * These are real reads, not scans: the job uses the data. Besides that, a few ad hoc reads
 * (log-normal rate, median one a month) and about one write a week.
 */
const WEEKLY = {
  slotFromMs: 1 * HOUR_MS,
  slotToMs: 6 * HOUR_MS,
  jitterSigmaMs: 5 * MINUTE_MS,
  adHocReadsPerDayMedian: 1 / 30,
  adHocSigma: 1,
  writesPerDay: 1 / 7,
};

const buildWeeklyBatch: PopulationBuilder = (ctx) => {
  const { rng, count } = ctx;
  const datasets: TraceDataset[] = [];
  const weekday = new Uint8Array(count);
  const slot = new Float64Array(count);
  const adHoc = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    datasets.push({
      name: datasetName(ctx.prefix, i, count),
      size_bytes: drawSize(rng),
      created_at: createdBefore(rng, ctx.start),
    });
    weekday[i] = rng.below(7);
    slot[i] = WEEKLY.slotFromMs + rng.below(WEEKLY.slotToMs - WEEKLY.slotFromMs);
    adHoc[i] = rng.logNormal(WEEKLY.adHocReadsPerDayMedian, WEEKLY.adHocSigma);
  }
  // The calendar day of a window is that of its midpoint (exact when start is midnight UTC).
  const dow = (dayStart: number): number => new Date(dayStart + DAY_MS / 2).getUTCDay();
  return {
    datasets,
    emitDay(day, r, out) {
      const today = dow(day.start);
      for (let i = 0; i < count; i++) {
        const ds = datasets[i]!;
        if (weekday[i] === today) {
          const jitter = Math.round(r.normal() * WEEKLY.jitterSigmaMs);
          const ts = Math.min(day.end - 1, Math.max(day.start, day.start + slot[i]! + jitter));
          out.push({ ts, dataset: ds.name, type: 'read', bytes: ds.size_bytes });
        }
        for (let n = r.poisson(adHoc[i]!); n > 0; n--) out.push(readEvent(uniformTs(r, day.start, day.end), ds, r));
        for (let n = r.poisson(WEEKLY.writesPerDay); n > 0; n--)
          out.push(writeEvent(uniformTs(r, day.start, day.end), ds, r));
      }
    },
    expectDay(day, add) {
      const today = dow(day.start);
      for (let i = 0; i < count; i++) {
        const size = datasets[i]!.size_bytes;
        const batch = weekday[i] === today ? 1 : 0;
        add(i, batch + adHoc[i]!, batch * size + adHoc[i]! * expectedPartBytes(size), WEEKLY.writesPerDay);
      }
    },
  };
};

export const weeklyBatch: WorkloadGenerator = {
  description:
    'Datasets read in full once a week by a batch job (each on its own weekday, between 01:00 and 06:00 UTC), ' +
    'with a few ad hoc reads (about one a month) and about one write a week.',
  build: buildWeeklyBatch,
};
