/** One population that cools: created through the period, then read less and less with age. */
import type { TraceDataset } from '../trace';
import {
  datasetName,
  DAY_MS,
  drawSize,
  expectedPartBytes,
  HOUR_MS,
  type PopulationBuilder,
  readEvent,
  Schedule,
  type WorkloadGenerator,
  writeEvent,
} from './helpers';
import type { Rng } from './rng';

/**
 * Read intensity at age a (days) is A·(a + c)^−k. With c = 1, k is chosen so that the expected
 * reads of age-day 1 ([1, 2) days after creation) are 10× those of age-day 7 ([7, 8)); it comes out
 * at k ≈ 1.85, so age-day 0 has ~2.7× the reads of day 1, day 30 ~1/115 of them, day 90 ~1/800.
 */
const COOLING = {
  c: 1,
  dayOneOverDaySeven: 10,
  /** 15% of datasets predate the trace, created uniformly over the 60 days before it. */
  backlogFraction: 0.15,
  backlogDays: 60,
  /** Expected reads on age-day 1, per dataset: log-normal. */
  dayOneReadsMedian: 12,
  dayOneReadsSigma: 1,
  /** Ingest: the creation write (the whole size) plus Poisson(1.5) part writes in the next 6 hours. */
  ingestExtraWritesMean: 1.5,
  ingestWindowMs: 6 * HOUR_MS,
  /** Later updates follow the read curve at 2% of its intensity. */
  laterWriteRatio: 0.02,
};

/** ∫ (a + c)^−k da over [lo, hi), for k > 1. */
export function powerMass(lo: number, hi: number, c: number, k: number): number {
  return ((lo + c) ** (1 - k) - (hi + c) ** (1 - k)) / (k - 1);
}

/** Solves powerMass(1,2)/powerMass(7,8) = ratio for k by bisection (the ratio grows with k). */
function solveCoolingExponent(ratio: number, c: number): number {
  let lo = 1.0001;
  let hi = 10;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (powerMass(1, 2, c, mid) / powerMass(7, 8, c, mid) < ratio) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export const COOLING_EXPONENT = solveCoolingExponent(COOLING.dayOneOverDaySeven, COOLING.c);

const buildCooling: PopulationBuilder = (ctx) => {
  const { rng, count } = ctx;
  const { c } = COOLING;
  const k = COOLING_EXPONENT;
  const span = ctx.end - ctx.start;
  const created: number[] = [];
  for (let i = 0; i < count; i++) {
    created.push(
      rng.next() < COOLING.backlogFraction
        ? ctx.start - 1 - rng.below(COOLING.backlogDays * DAY_MS)
        : ctx.start + rng.below(span),
    );
  }
  created.sort((a, b) => a - b); // names follow creation order
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
    amplitude[i] = rng.logNormal(COOLING.dayOneReadsMedian, COOLING.dayOneReadsSigma) / dayOneMass;
    if (ds.created_at >= ctx.start) {
      schedule.add({ ts: ds.created_at, dataset: ds.name, type: 'write', bytes: ds.size_bytes });
      const extra = rng.poisson(COOLING.ingestExtraWritesMean);
      for (let j = 0; j < extra; j++)
        schedule.add(writeEvent(ds.created_at + rng.below(COOLING.ingestWindowMs), ds, rng));
    }
  }
  // Inverse CDF of the power law on [lo, hi) (in days of age).
  const sampleAge = (r: Rng, lo: number, hi: number): number => {
    const L = (lo + c) ** (1 - k);
    const H = (hi + c) ** (1 - k);
    return (L - r.next() * (L - H)) ** (1 / (1 - k)) - c;
  };
  return {
    datasets,
    emitDay(day, r, out) {
      schedule.emit(day, out);
      for (let i = 0; i < count; i++) {
        const ds = datasets[i]!;
        if (ds.created_at >= day.end) break; // sorted by creation
        const lo = Math.max(0, (day.start - ds.created_at) / DAY_MS);
        const hi = (day.end - ds.created_at) / DAY_MS;
        const expected = amplitude[i]! * powerMass(lo, hi, c, k);
        const first = Math.max(day.start, ds.created_at);
        const at = (): number =>
          Math.min(day.end - 1, Math.max(first, Math.floor(ds.created_at + sampleAge(r, lo, hi) * DAY_MS)));
        for (let n = r.poisson(expected); n > 0; n--) out.push(readEvent(at(), ds, r));
        for (let n = r.poisson(expected * COOLING.laterWriteRatio); n > 0; n--) out.push(writeEvent(at(), ds, r));
      }
    },
    expectDay(day, add) {
      for (let i = 0; i < count; i++) {
        const ds = datasets[i]!;
        if (ds.created_at >= day.end) break;
        const lo = Math.max(0, (day.start - ds.created_at) / DAY_MS);
        const hi = (day.end - ds.created_at) / DAY_MS;
        const reads = amplitude[i]! * powerMass(lo, hi, c, k);
        let writes = reads * COOLING.laterWriteRatio;
        if (ds.created_at >= ctx.start) {
          // The creation write, and the ingest writes spread uniformly over the window after it.
          if (ds.created_at >= day.start) writes += 1;
          const inDay = Math.min(day.end, ds.created_at + COOLING.ingestWindowMs) - Math.max(day.start, ds.created_at);
          if (inDay > 0) writes += (COOLING.ingestExtraWritesMean * inDay) / COOLING.ingestWindowMs;
        }
        add(i, reads, reads * expectedPartBytes(ds.size_bytes), writes);
      }
    },
  };
};

export const cooling: WorkloadGenerator = {
  description:
    'Datasets created throughout the period (15% already up to 60 days old at the start), written at creation, then read less and less: ' +
    'reads fall as a power law of age, about 10x from day 1 to day 7 after creation, and keep falling.',
  build: buildCooling,
};
