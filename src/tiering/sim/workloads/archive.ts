/** One population of archive: scanned every night, otherwise cold but for rare, whole audits. */
import type { TraceDataset } from '../trace';
import {
  createdBefore,
  datasetName,
  drawSize,
  HOUR_MS,
  MINUTE_MS,
  type PopulationBuilder,
  uniformTs,
  type WorkloadGenerator,
  writeEvent,
} from './helpers';

/**
 * Each dataset is scanned in full every night at its slot in the backup window (uniform
 * 00:30–05:00 UTC, ± σ 3 min), a read flagged scan. Real reads are audits: rare (a log-normal
 * rate, median one in 120 days, σ 1, so some are audited monthly and most once a year or less)
 * and each reads the whole dataset. About one write a year.
 */
const ARCHIVE = {
  windowStartMs: 30 * MINUTE_MS,
  windowEndMs: 5 * HOUR_MS,
  jitterSigmaMs: 3 * MINUTE_MS,
  auditsPerDayMedian: 1 / 120,
  auditsSigma: 1,
  writesPerDay: 1 / 365,
};

const buildArchive: PopulationBuilder = (ctx) => {
  const { rng, count } = ctx;
  const datasets: TraceDataset[] = [];
  const slot = new Float64Array(count);
  const audits = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    datasets.push({
      name: datasetName(ctx.prefix, i, count),
      size_bytes: drawSize(rng),
      created_at: createdBefore(rng, ctx.start),
    });
    slot[i] = ARCHIVE.windowStartMs + rng.below(ARCHIVE.windowEndMs - ARCHIVE.windowStartMs);
    audits[i] = rng.logNormal(ARCHIVE.auditsPerDayMedian, ARCHIVE.auditsSigma);
  }
  return {
    datasets,
    emitDay(day, r, out) {
      for (let i = 0; i < count; i++) {
        const ds = datasets[i]!;
        const jitter = Math.round(r.normal() * ARCHIVE.jitterSigmaMs);
        const ts = Math.min(day.end - 1, Math.max(day.start, day.start + slot[i]! + jitter));
        out.push({ ts, dataset: ds.name, type: 'read', bytes: ds.size_bytes, scan: true });
        for (let n = r.poisson(audits[i]!); n > 0; n--)
          out.push({ ts: uniformTs(r, day.start, day.end), dataset: ds.name, type: 'read', bytes: ds.size_bytes });
        for (let n = r.poisson(ARCHIVE.writesPerDay); n > 0; n--)
          out.push(writeEvent(uniformTs(r, day.start, day.end), ds, r));
      }
    },
    expectDay(_day, add) {
      for (let i = 0; i < count; i++) {
        const size = datasets[i]!.size_bytes;
        add(i, 1 + audits[i]!, size * (1 + audits[i]!), ARCHIVE.writesPerDay);
      }
    },
  };
};

export const archive: WorkloadGenerator = {
  description:
    'A mostly cold archive: every dataset scanned in full each night (00:30-05:00 UTC, flagged scan), real reads only rare ' +
    'audits that read a whole dataset (median one in 120 days), about one write a year.',
  build: buildArchive,
};
