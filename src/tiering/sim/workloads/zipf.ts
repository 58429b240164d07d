/** One population with Zipf popularity: steady reads, a few datasets take most of them. */
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
 * Popularity rank r (a random permutation of datasets) gets a share r^−s / H of all reads, with
 * 0.8 reads per dataset per day in total: at 10,000 datasets the top one is read ~1,200 times a
 * day, the top 1% take ~65% of reads and rank 10,000 is read ~8 times in 180 days.
 */
const ZIPF = { s: 1.1, readsPerDatasetDay: 0.8, writeRatio: 0.05 };

const buildZipf: PopulationBuilder = (ctx) => {
  const { rng, count } = ctx;
  const datasets: TraceDataset[] = [];
  for (let i = 0; i < count; i++) {
    datasets.push({
      name: datasetName(ctx.prefix, i, count),
      size_bytes: drawSize(rng),
      created_at: createdBefore(rng, ctx.start),
    });
  }
  const ranks = rng.shuffle(Array.from({ length: count }, (_, i) => i + 1));
  let harmonic = 0;
  for (let r = 1; r <= count; r++) harmonic += r ** -ZIPF.s;
  const totalPerDay = ZIPF.readsPerDatasetDay * count;
  const rate = ranks.map((r) => (totalPerDay * r ** -ZIPF.s) / harmonic);
  return {
    datasets,
    emitDay(day, r, out) {
      for (let i = 0; i < count; i++) {
        const ds = datasets[i]!;
        for (let n = r.poisson(rate[i]!); n > 0; n--) out.push(readEvent(uniformTs(r, day.start, day.end), ds, r));
        for (let n = r.poisson(rate[i]! * ZIPF.writeRatio); n > 0; n--)
          out.push(writeEvent(uniformTs(r, day.start, day.end), ds, r));
      }
    },
    expectDay(_day, add) {
      for (let i = 0; i < count; i++)
        add(i, rate[i]!, rate[i]! * expectedPartBytes(datasets[i]!.size_bytes), rate[i]! * ZIPF.writeRatio);
    },
  };
};

export const zipf: WorkloadGenerator = {
  description:
    'A fixed population whose popularity follows Zipf (s = 1.1): steady daily reads with Poisson noise; the top 1% of datasets take ' +
    'about two thirds of the reads and the long tail is read a handful of times in six months.',
  build: buildZipf,
};
