/** One population that cools over months rather than days. */
import type { TraceDataset } from '../trace';
import { powerMass } from './cooling';
import {
  datasetName,
  DAY_MS,
  drawSize,
  expectedPartBytes,
  type PopulationBuilder,
  readEvent,
  Schedule,
  type WorkloadGenerator,
  writeEvent,
} from './helpers';
import type { Rng } from './rng';

/**
 * Read intensity at age a (days) is A·(a + 20)^−1.3: age-day 30 has about a third of the reads
 * of day 1, day 90 about a ninth, day 180 a seventeenth. 30% of datasets predate the trace
 * (created over the 180 days before it); the rest are created during it with one write of their
 * whole size. Reads on age-day 1: log-normal, median 4. Writes follow the reads at 2%.
 */
const SLOW = {
  c: 20,
  k: 1.3,
  backlogFraction: 0.3,
  backlogDays: 180,
  dayOneReadsMedian: 4,
  dayOneReadsSigma: 1,
  writeRatio: 0.02,
};

const buildSlowCooling: PopulationBuilder = (ctx) => {
  const { rng, count } = ctx;
  const { c, k } = SLOW;
  const created: number[] = [];
  for (let i = 0; i < count; i++) {
    created.push(
      rng.next() < SLOW.backlogFraction
        ? ctx.start - 1 - rng.below(SLOW.backlogDays * DAY_MS)
        : ctx.start + rng.below(ctx.end - ctx.start),
    );
  }
  created.sort((a, b) => a - b);
  const schedule = new Schedule(ctx);
  const datasets: TraceDataset[] = [];
  const amplitude = new Float64Array(count);
  const dayOneMass = powerMass(1, 2, c, k);
  for (let i = 0; i < count; i++) {
    const ds: TraceDataset = {
      name: datasetName(ctx.prefix, i, count),
      size_bytes: drawSize(rng),
      created_at: created[i]!,
    };
    datasets.push(ds);
    amplitude[i] = rng.logNormal(SLOW.dayOneReadsMedian, SLOW.dayOneReadsSigma) / dayOneMass;
    if (ds.created_at >= ctx.start)
      schedule.add({ ts: ds.created_at, dataset: ds.name, type: 'write', bytes: ds.size_bytes });
  }
  // Inverse CDF of the power law on [lo, hi) (in days of age).
  const sampleAge = (r: Rng, lo: number, hi: number): number => {
    const L = (lo + c) ** (1 - k);
    const H = (hi + c) ** (1 - k);
    return (L - r.next() * (L - H)) ** (1 / (1 - k)) - c;
  };
  /** Expected reads of dataset i within the day, and its age range there. */
  const window = (i: number, day: { start: number; end: number }): { lo: number; hi: number; reads: number } => {
    const ds = datasets[i]!;
    const lo = Math.max(0, (day.start - ds.created_at) / DAY_MS);
    const hi = (day.end - ds.created_at) / DAY_MS;
    return { lo, hi, reads: amplitude[i]! * powerMass(lo, hi, c, k) };
  };
  return {
    datasets,
    emitDay(day, r, out) {
      schedule.emit(day, out);
      for (let i = 0; i < count; i++) {
        const ds = datasets[i]!;
        if (ds.created_at >= day.end) break; // sorted by creation
        const { lo, hi, reads } = window(i, day);
        const first = Math.max(day.start, ds.created_at);
        const at = (): number =>
          Math.min(day.end - 1, Math.max(first, Math.floor(ds.created_at + sampleAge(r, lo, hi) * DAY_MS)));
        for (let n = r.poisson(reads); n > 0; n--) out.push(readEvent(at(), ds, r));
        for (let n = r.poisson(reads * SLOW.writeRatio); n > 0; n--) out.push(writeEvent(at(), ds, r));
      }
    },
    expectDay(day, add) {
      for (let i = 0; i < count; i++) {
        const ds = datasets[i]!;
        if (ds.created_at >= day.end) break;
        const { reads } = window(i, day);
        const creation = ds.created_at >= ctx.start && ds.created_at >= day.start ? 1 : 0;
        add(i, reads, reads * expectedPartBytes(ds.size_bytes), reads * SLOW.writeRatio + creation);
      }
    },
  };
};

export const slowCooling: WorkloadGenerator = {
  description:
    'Datasets that cool over months rather than days: reads fall as a power law of age, to about a third by day 30 and a ' +
    'ninth by day 90 (30% created in the 180 days before the trace, the rest during it).',
  build: buildSlowCooling,
};
