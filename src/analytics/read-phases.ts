import type { DatasetStatsTable } from '../db';
import { bucketStart } from './buckets';

/**
 * When in the month and in the week a dataset's non-scan reads fall, as sums of unit vectors
 * (circular statistics): a read at phase θ of its period adds cos θ and sin θ. A month-end report
 * or a Monday job piles its reads at one phase, so the vectors add up; reads at random times
 * cancel out. The same over two months and two weeks tells a window that comes back every period
 * (its halves fall at opposite phases of the double period and cancel) from reads that piled up
 * once (data read hard in its first weeks: one phase in either). Sums merge by addition, in any
 * order. A read is placed by its minute (1/43,200 of a month): the stream applier only counts the
 * non-scan reads in each minute bucket, and the roll-up, which passes every minute bucket once,
 * adds their phases to `dataset_stats` (a late event, of a minute the roll-up has claimed, is
 * placed by its own batch). A replay adds every read at its minute too, so both give the same sums. The
 * tiering policy times a reader found periodic from them (src/tiering/periodic.ts).
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

/** One minute's unit vectors, the last one asked kept: a batch's reads mostly share their minute. */
interface MinuteVectors {
  minute: number;
  v: Float64Array;
}
const last: MinuteVectors = { minute: NaN, v: new Float64Array(8) };

function vectorsOf(minute: number): Float64Array {
  if (last.minute === minute) return last.v;
  const m = monthPhase(minute);
  const w = weekPhase(minute);
  const m2 = twoMonthPhase(minute);
  const w2 = twoWeekPhase(minute);
  const v = last.v;
  v[0] = Math.cos(m);
  v[1] = Math.sin(m);
  v[2] = Math.cos(w);
  v[3] = Math.sin(w);
  v[4] = Math.cos(m2);
  v[5] = Math.sin(m2);
  v[6] = Math.cos(w2);
  v[7] = Math.sin(w2);
  last.minute = minute;
  return v;
}

/** Adds `reads` non-scan reads that fell in the minute of `ts` to `into`, in place (placed at the minute's start). */
export function addReadPhases(into: ReadPhases, ts: number, reads: number): void {
  if (reads <= 0) return;
  const v = vectorsOf(bucketStart(ts, 'm'));
  into.phase_reads += reads;
  into.phase_month_cos += reads * v[0]!;
  into.phase_month_sin += reads * v[1]!;
  into.phase_week_cos += reads * v[2]!;
  into.phase_week_sin += reads * v[3]!;
  into.phase_month2_cos += reads * v[4]!;
  into.phase_month2_sin += reads * v[5]!;
  into.phase_week2_cos += reads * v[6]!;
  into.phase_week2_sin += reads * v[7]!;
}

/** Adds one read to `into` in place (scans are not reads of the data's users). */
export function addReadPhase(into: ReadPhases, ts: number, scan: boolean): void {
  if (!scan) addReadPhases(into, ts, 1);
}
