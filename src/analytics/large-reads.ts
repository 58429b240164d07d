import type { DatasetStatsTable } from '../db';

/**
 * Large reads: non-scan reads of at least half a dataset's size, counted per dataset with their
 * bytes and their bursts (large reads less than BURST_GAP_MS apart are one burst: a job that
 * reads a dataset whole three times in an hour ran once). The tiering policy prices a dataset's
 * whole reads from them, and times a weekly or monthly reader by the spacing of its bursts.
 *
 * One merge for both paths: the stream applier folds a batch's events with addLargeRead and the
 * statistics' SQL merges the batch with the stored row as mergeLargeReads does; a replay folds
 * every event with addLargeRead. Events in time order give the same counts either way.
 */

/** A read touching at least this share of a dataset's size is large. */
export const LARGE_READ_SHARE = 0.5;
/** Large reads closer together than this belong to one burst. */
export const BURST_GAP_MS = 12 * 3_600_000;
const HOUR = 3_600_000;

/** The large-read statistics of one dataset, as `dataset_stats` stores them (see its columns' notes). */
export type LargeReads = Pick<
  DatasetStatsTable,
  'large_reads' | 'large_bytes' | 'large_bursts' | 'large_first' | 'large_last' | 'large_gap_sq'
>;

export function isLargeRead(bytes: number, sizeBytes: number): boolean {
  return sizeBytes > 0 && bytes >= LARGE_READ_SHARE * sizeBytes;
}

export function noLargeReads(): LargeReads {
  return { large_reads: 0, large_bytes: 0, large_bursts: 0, large_first: null, large_last: null, large_gap_sq: 0 };
}

/**
 * Whether two sets of large reads share a burst: their spans [first, last] come within
 * BURST_GAP_MS of each other. Exact for reads merged in time order; for a late batch it may
 * join or split one burst, which moves a period estimate by one gap at most.
 */
function touching(a: LargeReads, b: LargeReads): boolean {
  if (a.large_first === null || a.large_last === null || b.large_first === null || b.large_last === null) return false;
  return b.large_first - a.large_last < BURST_GAP_MS && a.large_first - b.large_last < BURST_GAP_MS;
}

/** Hours from the end of one set of large reads to the start of the other, if they are apart (else 0). */
function gapHours(a: LargeReads, b: LargeReads): number {
  if (a.large_first === null || a.large_last === null || b.large_first === null || b.large_last === null) return 0;
  return Math.max(0, b.large_first - a.large_last, a.large_first - b.large_last) / HOUR;
}

/** `a` and `b` together, as the statistics' SQL merge computes it (see StatsRepository.addStats). */
export function mergeLargeReads(a: LargeReads, b: LargeReads): LargeReads {
  const joined = touching(a, b);
  const gap = joined ? 0 : gapHours(a, b);
  const first = a.large_first === null ? b.large_first : Math.min(a.large_first, b.large_first ?? a.large_first);
  const last = a.large_last === null ? b.large_last : Math.max(a.large_last, b.large_last ?? a.large_last);
  return {
    large_reads: a.large_reads + b.large_reads,
    large_bytes: a.large_bytes + b.large_bytes,
    large_bursts: a.large_bursts + b.large_bursts - (joined ? 1 : 0),
    large_first: first,
    large_last: last,
    large_gap_sq: a.large_gap_sq + b.large_gap_sq + gap * gap,
  };
}

/** Adds one read to `into` in place if it is large (scans are not reads of the data's users). */
export function addLargeRead(into: LargeReads, ts: number, bytes: number, sizeBytes: number, scan: boolean): void {
  if (scan || !isLargeRead(bytes, sizeBytes)) return;
  const one: LargeReads = {
    large_reads: 1,
    large_bytes: bytes,
    large_bursts: 1,
    large_first: ts,
    large_last: ts,
    large_gap_sq: 0,
  };
  Object.assign(into, mergeLargeReads(into, one));
}
