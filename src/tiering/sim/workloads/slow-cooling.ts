/** One population that cools over months rather than days. */
import { expectedPartBytes, type PopulationBuilder, type WorkloadGenerator } from './helpers';
import { powerLawPopulation } from './power-law';

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
  // Created during the trace: one write of the whole size.
  const pop = powerLawPopulation(ctx, SLOW, (ds, schedule) =>
    schedule.add({ ts: ds.created_at, dataset: ds.name, type: 'write', bytes: ds.size_bytes }),
  );
  const { datasets } = pop;
  return {
    datasets,
    emitDay(day, r, out) {
      pop.schedule.emit(day, out);
      pop.emitReads(day, r, out, SLOW.writeRatio);
    },
    expectDay(day, add) {
      for (let i = 0; i < datasets.length; i++) {
        const ds = datasets[i]!;
        if (ds.created_at >= day.end) break;
        const { reads } = pop.window(i, day);
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
