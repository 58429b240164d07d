/** One population of ETL hand-offs: written, read once or twice, never again. */
import type { TraceDataset } from '../trace';
import {
  datasetName,
  DAY_MS,
  drawSize,
  HOUR_MS,
  MINUTE_MS,
  type PopulationBuilder,
  Schedule,
  type WorkloadGenerator,
} from './helpers';

/**
 * Each dataset is created (one write of its whole size) at a uniform time in the trace; its
 * consumer reads it in full after 10 minutes plus an exponential delay (mean 4 hours); 30% are
 * read again 1–3 days later (a re-run or a second consumer). Nothing after that. These whole-size
 * reads are real uses, not scans. Events that would fall after the end of the trace are dropped.
 */
const READ_ONCE = {
  minDelayMs: 10 * MINUTE_MS,
  meanDelayMs: 4 * HOUR_MS,
  secondReadFraction: 0.3,
  secondDelayDays: [1, 3] as const,
};

const buildReadOnce: PopulationBuilder = (ctx) => {
  const { rng, count } = ctx;
  const created: number[] = [];
  for (let i = 0; i < count; i++) created.push(ctx.start + rng.below(ctx.end - ctx.start));
  created.sort((a, b) => a - b);
  const schedule = new Schedule(ctx);
  const datasets: TraceDataset[] = [];
  for (let i = 0; i < count; i++) {
    const ds: TraceDataset = {
      name: datasetName(ctx.prefix, i, count),
      size_bytes: drawSize(rng),
      created_at: created[i]!,
    };
    datasets.push(ds);
    schedule.add({ ts: ds.created_at, dataset: ds.name, type: 'write', bytes: ds.size_bytes });
    const first = ds.created_at + READ_ONCE.minDelayMs + Math.floor(rng.exponential(READ_ONCE.meanDelayMs));
    schedule.add({ ts: first, dataset: ds.name, type: 'read', bytes: ds.size_bytes });
    if (rng.next() < READ_ONCE.secondReadFraction) {
      const [lo, hi] = READ_ONCE.secondDelayDays;
      const second = first + Math.floor((lo + rng.next() * (hi - lo)) * DAY_MS);
      schedule.add({ ts: second, dataset: ds.name, type: 'read', bytes: ds.size_bytes });
    }
  }
  return { datasets, emitDay: (day, _r, out) => schedule.emit(day, out) };
};

export const readOnce: WorkloadGenerator = {
  description:
    'ETL hand-offs: each dataset is written once, read in full by its consumer within hours (30% read again 1-3 days later), ' +
    'then never touched again.',
  build: buildReadOnce,
};
