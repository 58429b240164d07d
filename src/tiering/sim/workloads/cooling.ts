/** One population that cools: created through the period, then read less and less with age. */
import { expectedPartBytes, HOUR_MS, type PopulationBuilder, type WorkloadGenerator, writeEvent } from './helpers';
import { powerLawPopulation, powerMass } from './power-law';

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
  const { rng } = ctx;
  const shape = { ...COOLING, k: COOLING_EXPONENT };
  // Ingest: the creation write (the whole size) plus part writes in the hours after it.
  const pop = powerLawPopulation(ctx, shape, (ds, schedule) => {
    schedule.add({ ts: ds.created_at, dataset: ds.name, type: 'write', bytes: ds.size_bytes });
    const extra = rng.poisson(COOLING.ingestExtraWritesMean);
    for (let j = 0; j < extra; j++)
      schedule.add(writeEvent(ds.created_at + rng.below(COOLING.ingestWindowMs), ds, rng));
  });
  const { datasets } = pop;
  return {
    datasets,
    emitDay(day, r, out) {
      pop.schedule.emit(day, out);
      pop.emitReads(day, r, out, COOLING.laterWriteRatio);
    },
    expectDay(day, add) {
      for (let i = 0; i < datasets.length; i++) {
        const ds = datasets[i]!;
        if (ds.created_at >= day.end) break;
        const { reads } = pop.window(i, day);
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
