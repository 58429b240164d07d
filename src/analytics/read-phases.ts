import type { DatasetStatsTable } from '../db';

/**
 * When in the month and in the week a dataset's non-scan reads fall, as sums of unit vectors
 * (circular statistics): a read at phase θ of its period adds cos θ and sin θ. A month-end report
 * or a Monday job piles its reads at one phase, so the vectors add up; reads at random times
 * cancel out. Sums merge by addition, so the stream applier adds a batch's sums to the stored row
 * in SQL and a replay adds every read, with the same result in any order. The tiering policy
 * times a reader found periodic from them (src/tiering/periodic.ts).
 */

const DAY = 86_400_000;
const TAU = 2 * Math.PI;

/** The read-phase statistics of one dataset, as `dataset_stats` stores them. */
export type ReadPhases = Pick<
  DatasetStatsTable,
  'phase_reads' | 'phase_month_cos' | 'phase_month_sin' | 'phase_week_cos' | 'phase_week_sin'
>;

export function noReadPhases(): ReadPhases {
  return { phase_reads: 0, phase_month_cos: 0, phase_month_sin: 0, phase_week_cos: 0, phase_week_sin: 0 };
}

/** Where `ts` falls in its UTC calendar month, in radians from the month's first instant (2π at the next month's). */
export function monthPhase(ts: number): number {
  const d = new Date(ts);
  const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  return (TAU * (ts - start)) / (end - start);
}

/** Where `ts` falls in its UTC week (weeks as the epoch counts them: a fixed weekday is a fixed phase), in radians. */
export function weekPhase(ts: number): number {
  const days = ts / DAY;
  return (TAU * (days - 7 * Math.floor(days / 7))) / 7;
}

/** Adds one read to `into` in place (scans are not reads of the data's users). */
export function addReadPhase(into: ReadPhases, ts: number, scan: boolean): void {
  if (scan) return;
  const m = monthPhase(ts);
  const w = weekPhase(ts);
  into.phase_reads += 1;
  into.phase_month_cos += Math.cos(m);
  into.phase_month_sin += Math.sin(m);
  into.phase_week_cos += Math.cos(w);
  into.phase_week_sin += Math.sin(w);
}
