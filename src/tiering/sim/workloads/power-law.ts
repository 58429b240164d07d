/**
 * The machinery of populations that cool as a power law of age (cooling, slow-cooling): read
 * intensity at age a (days) is A·(a + c)^−k, A drawn per dataset so that age-day 1 has a
 * log-normal number of reads.
 */
import type { TraceDataset, TraceEvent } from '../trace';
import { datasetName, DAY_MS, drawSize, type PopulationContext, readEvent, Schedule, writeEvent } from './helpers';
import type { Rng } from './rng';

/** ∫ (a + c)^−k da over [lo, hi), for k > 1. */
export function powerMass(lo: number, hi: number, c: number, k: number): number {
  return ((lo + c) ** (1 - k) - (hi + c) ** (1 - k)) / (k - 1);
}

export interface PowerLawShape {
  c: number;
  k: number;
  /** This share of datasets predates the trace, created uniformly over `backlogDays` before it. */
  backlogFraction: number;
  backlogDays: number;
  /** Expected reads on age-day 1, per dataset: log-normal. */
  dayOneReadsMedian: number;
  dayOneReadsSigma: number;
}

type Day = { start: number; end: number };

export interface PowerLawPopulation {
  datasets: TraceDataset[];
  schedule: Schedule;
  /** Dataset i's age range within the day (days) and its expected reads there. */
  window(i: number, day: Day): { lo: number; hi: number; reads: number };
  /** The day's reads (and writes at `writeRatio` of them) of every dataset created by its end. */
  emitReads(day: Day, r: Rng, out: TraceEvent[], writeRatio: number): void;
}

/**
 * Creates the population: creation times (sorted, names in creation order), sizes and amplitudes,
 * drawn in this order per dataset; `created` is called for each dataset created during the trace
 * (after its amplitude is drawn), to schedule its ingest writes.
 */
export function powerLawPopulation(
  ctx: PopulationContext,
  shape: PowerLawShape,
  created: (ds: TraceDataset, schedule: Schedule) => void,
): PowerLawPopulation {
  const { rng, count } = ctx;
  const { c, k } = shape;
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    times.push(
      rng.next() < shape.backlogFraction
        ? ctx.start - 1 - rng.below(shape.backlogDays * DAY_MS)
        : ctx.start + rng.below(ctx.end - ctx.start),
    );
  }
  times.sort((a, b) => a - b);
  const schedule = new Schedule(ctx);
  const datasets: TraceDataset[] = [];
  const amplitude = new Float64Array(count);
  const dayOneMass = powerMass(1, 2, c, k);
  for (let i = 0; i < count; i++) {
    const ds: TraceDataset = {
      name: datasetName(ctx.prefix, i, count),
      size_bytes: drawSize(rng),
      created_at: times[i]!,
    };
    datasets.push(ds);
    amplitude[i] = rng.logNormal(shape.dayOneReadsMedian, shape.dayOneReadsSigma) / dayOneMass;
    if (ds.created_at >= ctx.start) created(ds, schedule);
  }
  // Inverse CDF of the power law on [lo, hi) (in days of age).
  const sampleAge = (r: Rng, lo: number, hi: number): number => {
    const L = (lo + c) ** (1 - k);
    const H = (hi + c) ** (1 - k);
    return (L - r.next() * (L - H)) ** (1 / (1 - k)) - c;
  };
  const window = (i: number, day: Day): { lo: number; hi: number; reads: number } => {
    const ds = datasets[i]!;
    const lo = Math.max(0, (day.start - ds.created_at) / DAY_MS);
    const hi = (day.end - ds.created_at) / DAY_MS;
    return { lo, hi, reads: amplitude[i]! * powerMass(lo, hi, c, k) };
  };
  return {
    datasets,
    schedule,
    window,
    emitReads(day, r, out, writeRatio) {
      for (let i = 0; i < count; i++) {
        const ds = datasets[i]!;
        if (ds.created_at >= day.end) break; // sorted by creation
        const { lo, hi, reads } = window(i, day);
        const first = Math.max(day.start, ds.created_at);
        const at = (): number =>
          Math.min(day.end - 1, Math.max(first, Math.floor(ds.created_at + sampleAge(r, lo, hi) * DAY_MS)));
        for (let n = r.poisson(reads); n > 0; n--) out.push(readEvent(at(), ds, r));
        for (let n = r.poisson(reads * writeRatio); n > 0; n--) out.push(writeEvent(at(), ds, r));
      }
    },
  };
}
