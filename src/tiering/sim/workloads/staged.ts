/** One population of staged data: written days to weeks before anyone reads it. */
import type { TraceDataset } from '../trace';
import {
  datasetName,
  DAY_MS,
  drawSize,
  expectedPartBytes,
  overlap,
  type PopulationBuilder,
  readEvent,
  Schedule,
  uniformTs,
  type WorkloadGenerator,
  writeEvent,
} from './helpers';

/**
 * Each dataset is created (one write of its whole size) at a uniform time in the trace and left
 * unread for 3 to 28 days (log-uniform): data landed ahead of the job, the quarter or the
 * audience that reads it. Then it is read at a log-normal rate (median 2 a day) for 2 to 13
 * weeks, and after that about twice a year. Writes follow the reads at 5%.
 */
const STAGED = {
  delayDays: [3, 28] as const,
  activeDays: [14, 90] as const,
  readsPerDayMedian: 2,
  readsSigma: 1,
  idleReadsPerDay: 1 / 180,
  writeRatio: 0.05,
};

const buildStaged: PopulationBuilder = (ctx) => {
  const { rng, count } = ctx;
  const created: number[] = [];
  for (let i = 0; i < count; i++) created.push(ctx.start + rng.below(ctx.end - ctx.start));
  created.sort((a, b) => a - b);
  const schedule = new Schedule(ctx);
  const datasets: TraceDataset[] = [];
  const readFrom = new Float64Array(count);
  const readUntil = new Float64Array(count);
  const rate = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const ds: TraceDataset = {
      name: datasetName(ctx.prefix, i, count),
      size_bytes: drawSize(rng),
      created_at: created[i]!,
    };
    datasets.push(ds);
    schedule.add({ ts: ds.created_at, dataset: ds.name, type: 'write', bytes: ds.size_bytes });
    readFrom[i] = ds.created_at + Math.floor(rng.logUniform(STAGED.delayDays[0], STAGED.delayDays[1]) * DAY_MS);
    readUntil[i] = readFrom[i]! + Math.floor(rng.logUniform(STAGED.activeDays[0], STAGED.activeDays[1]) * DAY_MS);
    rate[i] = rng.logNormal(STAGED.readsPerDayMedian, STAGED.readsSigma);
  }
  /** Dataset i's read phases within the day: [from, to) and the rate per day there. */
  const phases = (i: number, day: { start: number; end: number }): { from: number; to: number; rate: number }[] => [
    { from: Math.max(day.start, readFrom[i]!), to: Math.min(day.end, readUntil[i]!), rate: rate[i]! },
    { from: Math.max(day.start, readUntil[i]!), to: day.end, rate: STAGED.idleReadsPerDay },
  ];
  return {
    datasets,
    emitDay(day, r, out) {
      schedule.emit(day, out);
      for (let i = 0; i < count; i++) {
        const ds = datasets[i]!;
        if (ds.created_at >= day.end) break; // sorted by creation
        for (const p of phases(i, day)) {
          if (p.to <= p.from) continue;
          const expected = (p.rate * (p.to - p.from)) / DAY_MS;
          for (let n = r.poisson(expected); n > 0; n--) out.push(readEvent(uniformTs(r, p.from, p.to), ds, r));
          for (let n = r.poisson(expected * STAGED.writeRatio); n > 0; n--)
            out.push(writeEvent(uniformTs(r, p.from, p.to), ds, r));
        }
      }
    },
    expectDay(day, add) {
      for (let i = 0; i < count; i++) {
        const ds = datasets[i]!;
        if (ds.created_at >= day.end) break;
        let reads = 0;
        for (const p of phases(i, day)) reads += (p.rate * overlap(p.from, p.to, day.start, day.end)) / DAY_MS;
        const creation = ds.created_at >= day.start ? 1 : 0;
        add(i, reads, reads * expectedPartBytes(ds.size_bytes), reads * STAGED.writeRatio + creation);
      }
    },
  };
};

export const staged: WorkloadGenerator = {
  description:
    'Staged data: each dataset is written in full, then waits 3-28 days unread before its readers come (about 2 reads a day ' +
    'for 2-13 weeks), then is read about twice a year.',
  build: buildStaged,
};
