/** One population of cold datasets that a nightly backup scans in full. */
import type { TraceDataset } from '../trace';
import {
  createdBefore,
  datasetName,
  drawSize,
  expectedPartBytes,
  HOUR_MS,
  MINUTE_MS,
  type PopulationBuilder,
  readEvent,
  uniformTs,
  type WorkloadGenerator,
  writeEvent,
} from './helpers';

/**
 * Each dataset has a slot in the backup window (uniform 00:30–05:00 UTC) and is scanned in full
 * every night at that slot ± a few minutes (normal, σ 3 min): a read of its whole size flagged
 * scan. Besides that it is cold: real reads at a log-normal rate (median one every 45 days) and
 * writes at a third of that.
 */
const NIGHTLY = {
  windowStartMs: 30 * MINUTE_MS,
  windowEndMs: 5 * HOUR_MS,
  jitterSigmaMs: 3 * MINUTE_MS,
  readsPerDayMedian: 1 / 45,
  readsSigma: 0.8,
  writeRatio: 1 / 3,
};

const buildNightlyScan: PopulationBuilder = (ctx) => {
  const { rng, count } = ctx;
  const datasets: TraceDataset[] = [];
  const slot = new Float64Array(count);
  const reads = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    datasets.push({
      name: datasetName(ctx.prefix, i, count),
      size_bytes: drawSize(rng),
      created_at: createdBefore(rng, ctx.start),
    });
    slot[i] = NIGHTLY.windowStartMs + rng.below(NIGHTLY.windowEndMs - NIGHTLY.windowStartMs);
    reads[i] = rng.logNormal(NIGHTLY.readsPerDayMedian, NIGHTLY.readsSigma);
  }
  return {
    datasets,
    emitDay(day, r, out) {
      for (let i = 0; i < count; i++) {
        const ds = datasets[i]!;
        const jitter = Math.round(r.normal() * NIGHTLY.jitterSigmaMs);
        const ts = Math.min(day.end - 1, Math.max(day.start, day.start + slot[i]! + jitter));
        out.push({ ts, dataset: ds.name, type: 'read', bytes: ds.size_bytes, scan: true });
        for (let n = r.poisson(reads[i]!); n > 0; n--) out.push(readEvent(uniformTs(r, day.start, day.end), ds, r));
        for (let n = r.poisson(reads[i]! * NIGHTLY.writeRatio); n > 0; n--)
          out.push(writeEvent(uniformTs(r, day.start, day.end), ds, r));
      }
    },
    expectDay(_day, add) {
      // The night's scan (its whole size) and the real reads.
      for (let i = 0; i < count; i++) {
        const size = datasets[i]!.size_bytes;
        add(i, 1 + reads[i]!, size + reads[i]! * expectedPartBytes(size), reads[i]! * NIGHTLY.writeRatio);
      }
    },
  };
};

export const nightlyScan: WorkloadGenerator = {
  description:
    'Cold datasets (a real read every month or two) that a backup / antivirus job reads in full every night between 00:30 and 05:00 UTC; ' +
    'those reads are flagged scan: true and read the whole size.',
  build: buildNightlyScan,
};
