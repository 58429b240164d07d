/** One population of busy datasets with a few long-idle ones among them. */
import type { TraceDataset } from '../trace';
import {
  createdBefore,
  datasetName,
  drawSize,
  expectedPartBytes,
  type PopulationBuilder,
  readEvent,
  uniformTs,
  type WorkloadGenerator,
  writeEvent,
} from './helpers';

/**
 * 95% of datasets are busy, read steadily at a log-normal rate (median 10 a day, σ 1); 5% are
 * long idle (median one read a year, σ 0.5), data nobody has touched for months that a policy
 * should find and demote, and not promote back on a forecast it has no evidence for. Writes follow
 * the reads at 5%.
 */
const MIXED = {
  idleFraction: 0.05,
  busyReadsPerDayMedian: 10,
  busySigma: 1,
  idleReadsPerDayMedian: 1 / 365,
  idleSigma: 0.5,
  writeRatio: 0.05,
};

const buildIdleAmongBusy: PopulationBuilder = (ctx) => {
  const { rng, count } = ctx;
  const datasets: TraceDataset[] = [];
  const rate = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    datasets.push({
      name: datasetName(ctx.prefix, i, count),
      size_bytes: drawSize(rng),
      created_at: createdBefore(rng, ctx.start),
    });
    rate[i] =
      rng.next() < MIXED.idleFraction
        ? rng.logNormal(MIXED.idleReadsPerDayMedian, MIXED.idleSigma)
        : rng.logNormal(MIXED.busyReadsPerDayMedian, MIXED.busySigma);
  }
  return {
    datasets,
    emitDay(day, r, out) {
      for (let i = 0; i < count; i++) {
        const ds = datasets[i]!;
        for (let n = r.poisson(rate[i]!); n > 0; n--) out.push(readEvent(uniformTs(r, day.start, day.end), ds, r));
        for (let n = r.poisson(rate[i]! * MIXED.writeRatio); n > 0; n--)
          out.push(writeEvent(uniformTs(r, day.start, day.end), ds, r));
      }
    },
    expectDay(_day, add) {
      for (let i = 0; i < count; i++)
        add(i, rate[i]!, rate[i]! * expectedPartBytes(datasets[i]!.size_bytes), rate[i]! * MIXED.writeRatio);
    },
  };
};

export const idleAmongBusy: WorkloadGenerator = {
  description:
    'Busy datasets read steadily (median 10 reads a day) with 5% long-idle ones among them (median one read a year).',
  build: buildIdleAmongBusy,
};
