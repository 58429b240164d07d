/** How much of a dataset a read touches: the fleet's share of the size, learnt from the statistics. */
import type { StatsSnapshot } from './features';

/**
 * See usage(): the prior that a dataset's mean bytes per read is shrunk toward, weighted as this
 * many reads. `share` is the share of the size a read is taken to touch until the fleet's own
 * share has been learnt (ReadShareEstimator). 60 reads, not 20: with 5% of reads whole, the mean
 * of a hundred reads of a 5 TB dataset that held no whole read is half its true mean, and three
 * such datasets demoted on it cost cycles 1.035× the best simple rule on seed 3 (issue 13, fourth
 * pass: 60 puts every cell of seeds 1 and 2 at or below 1.000 and seed 3 from 14 cells above to 5).
 */
export const BYTES_PER_READ_PRIOR = { reads: 60, share: 0.25 } as const;
/** The fleet's read share is trusted once this many non-scan reads have been seen. */
export const READ_SHARE_MIN_READS = 1_000;

/**
 * The fleet's bytes per read as a share of the size, learnt from the statistics: Σ bytes read by
 * non-scan reads / Σ (non-scan reads × size). Weighted by reads and size alike, as a wrong guess
 * costs. One pass over the datasets (the scheduler's scan, a replay's step) feeds it.
 */
export class ReadShareEstimator implements ReadShareTotals {
  bytes = 0;
  readSize = 0;
  reads = 0;

  /** One dataset's totals: reads (scans included), scans, bytes read, and its size. */
  add(reads: number, scans: number, bytesRead: number, sizeBytes: number): void {
    const warmReads = Math.max(0, reads - scans);
    if (warmReads === 0 || !(sizeBytes > 0)) return;
    const warmBytes = Math.max(0, bytesRead - scans * sizeBytes);
    // Events may leave out their bytes (they then count 0): a dataset whose reads reported none
    // says nothing about read sizes, and would drag the share toward zero.
    if (warmBytes === 0) return;
    const readSize = warmReads * sizeBytes;
    this.bytes += Math.min(readSize, warmBytes);
    this.readSize += readSize;
    this.reads += warmReads;
  }

  /** The learnt share, or null while fewer than READ_SHARE_MIN_READS reads were seen. */
  value(): number | null {
    return ReadShareEstimator.share(this);
  }

  /** The same from totals summed elsewhere (the scheduler sums them in SQL, see TieringRepository.readShareTotals). */
  static share(t: ReadShareTotals): number | null {
    if (t.reads < READ_SHARE_MIN_READS || !(t.readSize > 0)) return null;
    return Math.min(1, Math.max(1e-6, t.bytes / t.readSize));
  }
}

/** Σ bytes of non-scan reads (each dataset's at most reads × size), Σ non-scan reads × size, Σ non-scan reads. */
export interface ReadShareTotals {
  bytes: number;
  readSize: number;
  reads: number;
}

/**
 * The share of a dataset's accesses that are reads, before its own count says: a prior weighted as
 * `accesses` accesses (a rule of succession). Reads pay retrieval where writes pay a request, and
 * a split counted from a handful of events is rough: 4 reads and 3 writes priced the next month's
 * accesses as 57% reads, for data with 87% (issue 13: two 5.5 TB datasets demoted on it at half
 * storage prices, cycles seed 3 1.018× always-HOT). This one (0.9, weighted as 2) stands until the
 * fleet's own split and weight are learnt (ReadSplitEstimator): a fixed 0.9 priced hand-offs
 * written once and read once or twice (read-once's split is about 0.57) as dearer reads in COLD.
 */
export const READS_PER_ACCESS_PRIOR: ReadSplitPrior = { accesses: 2, share: 0.9 };

/** A prior for a dataset's reads per access: the share, weighted as this many accesses. */
export interface ReadSplitPrior {
  share: number;
  accesses: number;
}

/** The share of a dataset's non-scan accesses expected to be reads (see READS_PER_ACCESS_PRIOR). */
export function readsPerAccess(stats: StatsSnapshot, prior: ReadSplitPrior = READS_PER_ACCESS_PRIOR): number {
  const warmReads = Math.max(0, stats.reads - stats.scans);
  return (warmReads + prior.accesses * prior.share) / (warmReads + stats.writes + prior.accesses);
}

const MIB = 1024 * 1024;
const DAY = 86_400_000;
/** Bursts of large reads are periodic when their gaps' standard deviation is at most this share of their mean. */
export const PERIODIC_SPREAD = 0.5;

/**
 * The bytes one non-scan read of a dataset is expected to touch. Reads touch parts of very
 * different sizes, and the rare whole read carries most of the bytes: the mean of a few observed
 * reads usually falls short of what reads cost on average, and a demotion priced on it is then
 * read back dear. The mean is shrunk toward the fleet's read share of the size, as if
 * BYTES_PER_READ_PRIOR.reads reads of that share had been seen too: a dataset's own mean decides
 * once it has many more reads than that. (Replay: month-end went from 1.006× to 1.000× the S3-IT-
 * like rule with a weight of 2; 20 with the learnt share, 60 since the fourth pass of issue 13.)
 * Data never read keeps a small prior: its forecast reads are near zero anyway, and a whole-size
 * prior there cost more in replay. Reads whose events left out their bytes count 0 bytes: when
 * none reported any, the prior alone prices them. A dataset's counted large reads do not enter
 * here (adding those a dataset missed by chance put month-end on seed 2 at 1.001×, issue 13
 * fifth pass); they time periodic readers instead (timedLargeReads).
 */
export function bytesPerRead(stats: StatsSnapshot, sizeBytes: number, readShare: number): number {
  const warmReads = Math.max(0, stats.reads - stats.scans);
  if (warmReads === 0) return Math.min(sizeBytes, 64 * MIB);
  const warmBytes = Math.max(0, stats.bytesRead - stats.scans * sizeBytes);
  if (warmBytes === 0) return readShare * sizeBytes;
  const prior = BYTES_PER_READ_PRIOR.reads;
  return Math.min(sizeBytes, (warmBytes + prior * readShare * sizeBytes) / (warmReads + prior));
}

/**
 * Large reads a periodic reader (a weekly batch job, a monthly report) is expected to make over
 * the next `days`: its bursts of large reads so far set its period, the next is due a period
 * after the latest, and each brings its mean count of large reads. Timed, not averaged: a
 * monthly reader whose next read falls inside the window brings it whole, however low its rate
 * over the window. None once the reader has missed two periods, or before three bursts were seen.
 */
export function timedLargeReads(stats: StatsSnapshot, now: number, days: number): number {
  const large = stats.large;
  if (large === undefined || large.bursts < 3 || large.first === null || large.last === null) return 0;
  const period = (large.last - large.first) / (large.bursts - 1);
  if (!(period > 0) || now - large.last > 2 * period) return 0;
  // Regular bursts only: gaps that spread like a Poisson reader's (or grow, as data cools) are
  // the forecast's to average. Their mean square against the period's square is the spread; it
  // also falls short where bursts last long against their gaps (busy phases, not a job).
  const periodHours = period / 3_600_000;
  const spread = Math.sqrt(Math.abs(large.gapSq / (large.bursts - 1) - periodHours * periodHours));
  if (spread > PERIODIC_SPREAD * periodHours) return 0;
  // Due a period after the latest; one overdue by less than half a period is still on its way.
  const late = Math.max(0, Math.ceil((now - large.last) / period - 0.5));
  const next = Math.max(now, large.last + Math.max(1, late) * period);
  const end = now + days * DAY;
  if (next > end) return 0;
  return (large.reads / large.bursts) * (1 + Math.floor((end - next) / period));
}

/** The mean size of a dataset's large reads, its whole size before it has any. */
export function largeReadBytes(stats: StatsSnapshot, sizeBytes: number): number {
  const large = stats.large;
  return large !== undefined && large.reads > 0 ? Math.min(sizeBytes, large.bytes / large.reads) : sizeBytes;
}
