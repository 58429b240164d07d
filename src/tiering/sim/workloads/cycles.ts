/** One population used in business hours of its team's time zone. */
import type { TraceDataset } from '../trace';
import {
  createdBefore,
  datasetName,
  drawSize,
  expectedPartBytes,
  HourSampler,
  hourWeights,
  type PopulationBuilder,
  readEvent,
  type WorkloadGenerator,
  writeEvent,
} from './helpers';

/**
 * Each dataset belongs to a team in one time zone and is read at a log-normal rate per working
 * day (median 1, σ 1.3: most datasets are read a few times a day, a few dozen times) shaped by
 * WORKDAY_PROFILE / WEEKEND_PROFILE in local time. Writes follow the same shape at 15%.
 */
const CYCLES = {
  zones: [
    { offsetHours: -5, share: 0.35 }, // Americas
    { offsetHours: 1, share: 0.45 }, // Europe
    { offsetHours: 8, share: 0.2 }, // Asia
  ],
  readsPerWorkdayMedian: 1,
  readsPerWorkdaySigma: 1.3,
  writeRatio: 0.15,
};

const buildCycles: PopulationBuilder = (ctx) => {
  const { rng, count } = ctx;
  const datasets: TraceDataset[] = [];
  const zone = new Uint8Array(count);
  const rate = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    datasets.push({
      name: datasetName(ctx.prefix, i, count),
      size_bytes: drawSize(rng),
      created_at: createdBefore(rng, ctx.start),
    });
    let u = rng.next();
    let z = 0;
    while (z < CYCLES.zones.length - 1 && u >= CYCLES.zones[z]!.share) u -= CYCLES.zones[z++]!.share;
    zone[i] = z;
    rate[i] = rng.logNormal(CYCLES.readsPerWorkdayMedian, CYCLES.readsPerWorkdaySigma);
  }
  return {
    datasets,
    emitDay(day, r, out) {
      const samplers = CYCLES.zones.map((z) => new HourSampler(hourWeights(day.start, z.offsetHours, true)));
      for (let i = 0; i < count; i++) {
        const ds = datasets[i]!;
        const sampler = samplers[zone[i]!]!;
        const expected = rate[i]! * sampler.total;
        for (let n = r.poisson(expected); n > 0; n--) out.push(readEvent(sampler.sample(r, day.start, day.end), ds, r));
        for (let n = r.poisson(expected * CYCLES.writeRatio); n > 0; n--)
          out.push(writeEvent(sampler.sample(r, day.start, day.end), ds, r));
      }
    },
    expectDay(day, add) {
      const totals = CYCLES.zones.map((z) => new HourSampler(hourWeights(day.start, z.offsetHours, true)).total);
      for (let i = 0; i < count; i++) {
        const reads = rate[i]! * totals[zone[i]!]!;
        add(i, reads, reads * expectedPartBytes(datasets[i]!.size_bytes), reads * CYCLES.writeRatio);
      }
    },
  };
};

export const cycles: WorkloadGenerator = {
  description:
    "Datasets used in business hours of their team's time zone (UTC-5, UTC+1 or UTC+8): busy 08:00-18:00 on weekdays with a lunch dip, " +
    'little at night, and about 8% of the weekday level at weekends.',
  build: buildCycles,
};
