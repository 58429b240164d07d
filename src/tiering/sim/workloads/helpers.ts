/**
 * What every workload generator shares: units, dataset sizes and bytes per access, the
 * population plumbing (a population is one behaviour over some datasets), fixed schedules, and
 * hour-of-day profiles.
 */
import type { TraceDataset, TraceEvent } from '../trace';
import type { Rng } from './rng';

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;
export const MINUTE_MS = 60_000;

export const KB = 1024;
export const MB = 1024 * KB;
export const GB = 1024 * MB;
export const TB = 1024 * GB;

// ---------------------------------------------------------------------------------------------
// Sizes and bytes per access
// ---------------------------------------------------------------------------------------------

/**
 * Dataset sizes: 4% small objects, log-uniform 1 KB – 1 MB (so ~2.8% of datasets are under the
 * 128 KB minimum billable size of some cold tiers); the rest log-normal with median 20 GB and
 * σ = 2 (e-fold spread), clamped to [1 MB, 5 TB]. Mean ≈ 150 GB; the top 1% is above ~2 TB.
 */
const SIZE = {
  smallFraction: 0.04,
  smallMin: 1 * KB,
  smallMax: 1 * MB,
  median: 20 * GB,
  sigma: 2,
  min: 1 * MB,
  max: 5 * TB,
};

export function drawSize(rng: Rng): number {
  if (rng.next() < SIZE.smallFraction) return Math.round(rng.logUniform(SIZE.smallMin, SIZE.smallMax));
  return Math.round(Math.min(SIZE.max, Math.max(SIZE.min, rng.logNormal(SIZE.median, SIZE.sigma))));
}

/** A random read or write touches part of a dataset: 5% the whole of it, else log-uniform from 1 MB to its size. */
const WHOLE_ACCESS_FRACTION = 0.05;

export function partBytes(rng: Rng, size: number): number {
  if (size <= MB || rng.next() < WHOLE_ACCESS_FRACTION) return size;
  return Math.round(rng.logUniform(MB, size));
}

/** The mean of partBytes: 5% the size, 95% the mean of log-uniform [1 MB, size), (size − 1 MB) / ln(size / 1 MB). */
export function expectedPartBytes(size: number): number {
  if (size <= MB) return size;
  return WHOLE_ACCESS_FRACTION * size + ((1 - WHOLE_ACCESS_FRACTION) * (size - MB)) / Math.log(size / MB);
}

// ---------------------------------------------------------------------------------------------
// Populations: one behaviour each; a workload is one or more populations
// ---------------------------------------------------------------------------------------------

/** The time window of one generated day: [start, end). */
export interface DayWindow {
  index: number;
  start: number;
  end: number;
}

/** Adds expected reads, bytes read and writes for dataset i (its index in the population). */
export type AddExpected = (i: number, reads: number, bytesRead: number, writes: number) => void;

export interface Population {
  datasets: TraceDataset[];
  /** Appends the population's events with window.start <= ts < window.end (in any order). */
  emitDay(day: DayWindow, rng: Rng, out: TraceEvent[]): void;
  /**
   * The expected accesses of each dataset in the window, from the same intensities emitDay draws
   * from. Only where the future does not depend on the past (see ExpectedUse.known).
   */
  expectDay?(day: DayWindow, add: AddExpected): void;
}

export interface PopulationContext {
  /** The catalog stream: every per-dataset parameter comes from here. */
  rng: Rng;
  count: number;
  /** Dataset names are `<prefix>-<index>`. */
  prefix: string;
  start: number;
  days: number;
  /** start + days × DAY_MS (exclusive). */
  end: number;
}

export type PopulationBuilder = (ctx: PopulationContext) => Population;

export function datasetName(prefix: string, i: number, count: number): string {
  return `${prefix}-${String(i).padStart(Math.max(5, String(count - 1).length), '0')}`;
}

export function readEvent(ts: number, dataset: TraceDataset, rng: Rng): TraceEvent {
  return { ts, dataset: dataset.name, type: 'read', bytes: partBytes(rng, dataset.size_bytes) };
}

export function writeEvent(ts: number, dataset: TraceDataset, rng: Rng): TraceEvent {
  return { ts, dataset: dataset.name, type: 'write', bytes: partBytes(rng, dataset.size_bytes) };
}

/** A uniform time in [lo, hi), as integer ms. */
export function uniformTs(rng: Rng, lo: number, hi: number): number {
  return Math.min(hi - 1, lo + Math.floor(rng.next() * (hi - lo)));
}

/** Created before the trace: uniform over the year before start. */
export function createdBefore(rng: Rng, start: number): number {
  return start - 1 - rng.below(365 * DAY_MS);
}

/**
 * Events fixed when the catalog is built (creation writes, hand-off reads), bucketed by day.
 * Emitted as copies, so a consumer that mutates events cannot change the next replay.
 */
export class Schedule {
  private readonly byDay: TraceEvent[][] = [];

  constructor(private readonly ctx: PopulationContext) {}

  /** Keeps the event if it falls inside the trace; returns whether it did. */
  add(ev: TraceEvent): boolean {
    if (ev.ts < this.ctx.start || ev.ts >= this.ctx.end) return false;
    const d = Math.floor((ev.ts - this.ctx.start) / DAY_MS);
    (this.byDay[d] ??= []).push(ev);
    return true;
  }

  emit(day: DayWindow, out: TraceEvent[]): void {
    for (const ev of this.byDay[day.index] ?? []) out.push({ ...ev });
  }
}

// --- Hour-of-day profiles -----------------------------------------------------------------------

/** Relative read intensity by local hour on a working day: business hours, lunch dip, quiet nights. */
export const WORKDAY_PROFILE = [
  0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.05, 0.3, 0.8, 1, 1, 1, 0.7, 1, 1, 1, 1, 0.6, 0.25, 0.1, 0.08, 0.06, 0.04, 0.03,
];
/** Weekends: a skeleton crew, about 8% of a working day in total. */
export const WEEKEND_PROFILE = WORKDAY_PROFILE.map((w) => Math.max(0.02, 0.08 * w));
const WORKDAY_TOTAL = WORKDAY_PROFILE.reduce((s, w) => s + w, 0);

/**
 * Per-hour weights for the 24 hour slots of a day window, normalised so that a full working day
 * sums to 1 (a rate "per working day" times these weights gives per-hour expected counts).
 * `weekends` chooses whether Saturday/Sunday use the weekend profile.
 */
export function hourWeights(dayStart: number, utcOffsetHours: number, weekends: boolean): Float64Array {
  const w = new Float64Array(24);
  for (let h = 0; h < 24; h++) {
    const local = new Date(dayStart + h * HOUR_MS + utcOffsetHours * HOUR_MS);
    const dow = local.getUTCDay();
    const profile = weekends && (dow === 0 || dow === 6) ? WEEKEND_PROFILE : WORKDAY_PROFILE;
    w[h] = profile[local.getUTCHours()]! / WORKDAY_TOTAL;
  }
  return w;
}

/** Cumulative sums of hour weights, and a sampler of a ts within the day from them. */
export class HourSampler {
  readonly total: number;
  private readonly cumulative: Float64Array;

  constructor(weights: Float64Array) {
    this.cumulative = new Float64Array(weights.length);
    let s = 0;
    for (let h = 0; h < weights.length; h++) this.cumulative[h] = s += weights[h]!;
    this.total = s;
  }

  sample(rng: Rng, dayStart: number, dayEnd: number): number {
    const x = rng.next() * this.total;
    let h = 0;
    while (h < 23 && this.cumulative[h]! <= x) h++;
    return uniformTs(rng, dayStart + h * HOUR_MS, Math.min(dayEnd, dayStart + (h + 1) * HOUR_MS));
  }
}

/** A named workload's generator: its behaviour in words (for `--help`) and its population. */
export interface WorkloadGenerator {
  description: string;
  build: PopulationBuilder;
}

/** The length of [a0, a1) ∩ [b0, b1), 0 when they do not meet. */
export function overlap(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
}
