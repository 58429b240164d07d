import type { DatasetStatsTable } from '../db';

/**
 * When in the month and in the week a dataset's non-scan reads fall, as sums of unit vectors
 * (circular statistics): a read at phase θ of its period adds cos θ and sin θ. A month-end report
 * or a Monday job piles its reads at one phase, so the vectors add up; reads at random times
 * cancel out. The same over two months and two weeks tells a window that comes back every period
 * (its halves fall at opposite phases of the double period and cancel) from reads that piled up
 * once (data read hard in its first weeks: one phase in either). Sums merge by addition, so the
 * stream applier adds a batch's sums to the stored row in SQL and a replay adds every read, with
 * the same result in any order. The tiering policy times a reader found periodic from them
 * (src/tiering/periodic.ts).
 */

const DAY = 86_400_000;
const TAU = 2 * Math.PI;

/** The read-phase statistics of one dataset, as `dataset_stats` stores them. */
export type ReadPhases = Pick<DatasetStatsTable, (typeof READ_PHASE_COLUMNS)[number]>;

/** The columns, all sums: `phase_reads` counts the reads, the rest are Σ cos and Σ sin per period. */
export const READ_PHASE_COLUMNS = [
  'phase_reads',
  'phase_month_cos',
  'phase_month_sin',
  'phase_week_cos',
  'phase_week_sin',
  'phase_month2_cos',
  'phase_month2_sin',
  'phase_week2_cos',
  'phase_week2_sin',
] as const;

export function noReadPhases(): ReadPhases {
  return {
    phase_reads: 0,
    phase_month_cos: 0,
    phase_month_sin: 0,
    phase_week_cos: 0,
    phase_week_sin: 0,
    phase_month2_cos: 0,
    phase_month2_sin: 0,
    phase_week2_cos: 0,
    phase_week2_sin: 0,
  };
}

/** Where `ts` falls in its UTC calendar month, in radians from the month's first instant (2π at the next month's). */
export function monthPhase(ts: number): number {
  const d = new Date(ts);
  const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  return (TAU * (ts - start)) / (end - start);
}

/** Where `ts` falls in its pair of UTC calendar months (January-February, March-April, …), in radians. */
export function twoMonthPhase(ts: number): number {
  const odd = new Date(ts).getUTCMonth() % 2;
  return (monthPhase(ts) + TAU * odd) / 2;
}

/** Where `ts` falls in its UTC week (weeks as the epoch counts them: a fixed weekday is a fixed phase), in radians. */
export function weekPhase(ts: number): number {
  return cyclePhase(ts, 7);
}

/** Where `ts` falls in its fortnight (as the epoch counts them), in radians. */
export function twoWeekPhase(ts: number): number {
  return cyclePhase(ts, 14);
}

function cyclePhase(ts: number, periodDays: number): number {
  const days = ts / DAY;
  return (TAU * (days - periodDays * Math.floor(days / periodDays))) / periodDays;
}

/** Adds one read to `into` in place (scans are not reads of the data's users). */
export function addReadPhase(into: ReadPhases, ts: number, scan: boolean): void {
  if (scan) return;
  const m = monthPhase(ts);
  const w = weekPhase(ts);
  const m2 = twoMonthPhase(ts);
  const w2 = twoWeekPhase(ts);
  into.phase_reads += 1;
  into.phase_month_cos += Math.cos(m);
  into.phase_month_sin += Math.sin(m);
  into.phase_week_cos += Math.cos(w);
  into.phase_week_sin += Math.sin(w);
  into.phase_month2_cos += Math.cos(m2);
  into.phase_month2_sin += Math.sin(m2);
  into.phase_week2_cos += Math.cos(w2);
  into.phase_week2_sin += Math.sin(w2);
}
