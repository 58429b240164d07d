/**
 * Synthetic workloads for the what-if replay, and the on-disk trace format (see trace.ts).
 *
 * A workload is a set of dataset populations, each with one behaviour (cooling, Zipf popularity,
 * business-hour cycles, ...). Generation is deterministic for a seed:
 *
 * - The catalog and every per-dataset parameter (size, creation time, rates, schedules) are drawn
 *   once, in `generate()`, from the stream `Rng(seed, 0)`.
 * - Events are generated one day at a time when `events()` is iterated: day d draws from its own
 *   stream `Rng(seed, 1 + d)`, every population appends that day's events, and the day is sorted by
 *   ts (stable, so ties keep their generation order) and yielded. Memory is one day of events, and
 *   each call of `events()` replays the same sequence.
 *
 * Rates are Poisson processes whose intensity depends on the dataset and the time (age, hour of
 * day, day of week, day of month); each day a dataset gets Poisson(expected count) events whose
 * times are drawn from the intensity's shape within the day.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LOCATIONS, TIERS } from '../placements';
import type { ExpectedUse, Trace, TraceCatalog, TraceDataset, TraceEvent } from './trace';

export const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

const KB = 1024;
const MB = 1024 * KB;
const GB = 1024 * MB;
const TB = 1024 * GB;

// ---------------------------------------------------------------------------------------------
// Public types and defaults
// ---------------------------------------------------------------------------------------------

export interface GenerateOptions {
  /** PRNG seed (an integer); default 1. */
  seed?: number;
  /** Number of datasets; default 10,000. */
  datasets?: number;
  /** Length of the trace in days; default 180. */
  days?: number;
  /** ms since the epoch; default 2025-01-01T00:00:00Z. Calendars (hours, weekdays, month ends) are UTC. */
  start?: number;
}

export interface WorkloadSpec {
  name: string;
  /** One or two sentences for `--help`. */
  description: string;
  generate(opts?: GenerateOptions): Trace;
}

export const DEFAULT_START = Date.UTC(2025, 0, 1);
export const DEFAULT_OPTIONS: Readonly<Required<GenerateOptions>> = {
  seed: 1,
  datasets: 10_000,
  days: 180,
  start: DEFAULT_START,
};

// ---------------------------------------------------------------------------------------------
// Seeded PRNG: sfc32, seeded through murmur3's finaliser from (seed, stream)
// ---------------------------------------------------------------------------------------------

function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** log(k!) exactly for small k, by Stirling's series above (error < 1e-10 there). */
const LOG_FACTORIAL_TABLE: number[] = [0];
for (let k = 1; k < 32; k++) LOG_FACTORIAL_TABLE.push(LOG_FACTORIAL_TABLE[k - 1]! + Math.log(k));
function logFactorial(k: number): number {
  if (k < LOG_FACTORIAL_TABLE.length) return LOG_FACTORIAL_TABLE[k]!;
  return k * Math.log(k) - k + 0.5 * Math.log(2 * Math.PI * k) + 1 / (12 * k) - 1 / (360 * k * k * k);
}

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator): 128 bits of state, passes
 * PractRand, and is fast in JS. Independent streams come from different (seed, stream) pairs.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream = 0) {
    let x =
      mix32(mix32((seed >>> 0) ^ 0x6a09e667) ^ Math.floor(seed / 4294967296)) ^ mix32((stream >>> 0) ^ 0xbb67ae85);
    const step = (): number => (x = mix32((x + 0x9e3779b9) | 0));
    this.a = step();
    this.b = step();
    this.c = step();
    this.d = step();
    for (let i = 0; i < 12; i++) this.next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next(); // (0, 1]
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Log-normal with the given median and log-space standard deviation. */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  /** Log-uniform in [lo, hi). */
  logUniform(lo: number, hi: number): number {
    return lo * Math.exp(this.next() * Math.log(hi / lo));
  }

  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** Poisson(lambda): multiplication for small lambda, Hörmann's PTRS (exact) above. */
  poisson(lambda: number): number {
    if (!(lambda > 0)) return 0;
    if (lambda < 30) {
      const limit = Math.exp(-lambda);
      let k = 0;
      let p = this.next();
      while (p > limit) {
        k++;
        p *= this.next();
      }
      return k;
    }
    const slam = Math.sqrt(lambda);
    const loglam = Math.log(lambda);
    const b = 0.931 + 2.53 * slam;
    const a = -0.059 + 0.02483 * b;
    const invAlpha = 1.1239 + 1.1328 / (b - 3.4);
    const vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const u = this.next() - 0.5;
      const v = this.next();
      const us = 0.5 - Math.abs(u);
      const k = Math.floor(((2 * a) / us + b) * u + lambda + 0.43);
      if (us >= 0.07 && v <= vr) return k;
      if (k < 0 || (us < 0.013 && v > us)) continue;
      if (Math.log(v) + Math.log(invAlpha) - Math.log(a / (us * us) + b) <= -lambda + k * loglam - logFactorial(k))
        return k;
    }
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const t = xs[i]!;
      xs[i] = xs[j]!;
      xs[j] = t;
    }
    return xs;
  }
}

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

function drawSize(rng: Rng): number {
  if (rng.next() < SIZE.smallFraction) return Math.round(rng.logUniform(SIZE.smallMin, SIZE.smallMax));
  return Math.round(Math.min(SIZE.max, Math.max(SIZE.min, rng.logNormal(SIZE.median, SIZE.sigma))));
}

/** A random read or write touches part of a dataset: 5% the whole of it, else log-uniform from 1 MB to its size. */
const WHOLE_ACCESS_FRACTION = 0.05;

function partBytes(rng: Rng, size: number): number {
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
interface DayWindow {
  index: number;
  start: number;
  end: number;
}

/** Adds expected reads, bytes read and writes for dataset i (its index in the population). */
type AddExpected = (i: number, reads: number, bytesRead: number, writes: number) => void;

interface Population {
  datasets: TraceDataset[];
  /** Appends the population's events with window.start <= ts < window.end (in any order). */
  emitDay(day: DayWindow, rng: Rng, out: TraceEvent[]): void;
  /**
   * The expected accesses of each dataset in the window, from the same intensities emitDay draws
   * from. Only where the future does not depend on the past (see ExpectedUse.known).
   */
  expectDay?(day: DayWindow, add: AddExpected): void;
}

interface PopulationContext {
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

type PopulationBuilder = (ctx: PopulationContext) => Population;

function datasetName(prefix: string, i: number, count: number): string {
  return `${prefix}-${String(i).padStart(Math.max(5, String(count - 1).length), '0')}`;
}

function readEvent(ts: number, dataset: TraceDataset, rng: Rng): TraceEvent {
  return { ts, dataset: dataset.name, type: 'read', bytes: partBytes(rng, dataset.size_bytes) };
}

function writeEvent(ts: number, dataset: TraceDataset, rng: Rng): TraceEvent {
  return { ts, dataset: dataset.name, type: 'write', bytes: partBytes(rng, dataset.size_bytes) };
}

/** A uniform time in [lo, hi), as integer ms. */
function uniformTs(rng: Rng, lo: number, hi: number): number {
  return Math.min(hi - 1, lo + Math.floor(rng.next() * (hi - lo)));
}

/** Created before the trace: uniform over the year before start. */
function createdBefore(rng: Rng, start: number): number {
  return start - 1 - rng.below(365 * DAY_MS);
}

/**
 * Events fixed when the catalog is built (creation writes, hand-off reads), bucketed by day.
 * Emitted as copies, so a consumer that mutates events cannot change the next replay.
 */
class Schedule {
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
const WORKDAY_PROFILE = [
  0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.05, 0.3, 0.8, 1, 1, 1, 0.7, 1, 1, 1, 1, 0.6, 0.25, 0.1, 0.08, 0.06, 0.04, 0.03,
];
/** Weekends: a skeleton crew, about 8% of a working day in total. */
const WEEKEND_PROFILE = WORKDAY_PROFILE.map((w) => Math.max(0.02, 0.08 * w));
const WORKDAY_TOTAL = WORKDAY_PROFILE.reduce((s, w) => s + w, 0);

/**
 * Per-hour weights for the 24 hour slots of a day window, normalised so that a full working day
 * sums to 1 (a rate "per working day" times these weights gives per-hour expected counts).
 * `weekends` chooses whether Saturday/Sunday use the weekend profile.
 */
function hourWeights(dayStart: number, utcOffsetHours: number, weekends: boolean): Float64Array {
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
class HourSampler {
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

// --- cooling ------------------------------------------------------------------------------------

/**
 * Read intensity at age a (days) is A·(a + c)^−k. With c = 1, k is chosen so that the expected
 * reads of age-day 1 ([1, 2) days after creation) are 10× those of age-day 7 ([7, 8)); it comes out
 * at k ≈ 1.85, so age-day 0 has ~2.7× the reads of day 1, day 30 ~1/115 of them, day 90 ~1/800.
 */
const COOLING = {
  c: 1,
  dayOneOverDaySeven: 10,
  /** 15% of datasets predate the trace, created uniformly over the 60 days before it. */
  backlogFraction: 0.15,
  backlogDays: 60,
  /** Expected reads on age-day 1, per dataset: log-normal. */
  dayOneReadsMedian: 12,
  dayOneReadsSigma: 1,
  /** Ingest: the creation write (the whole size) plus Poisson(1.5) part writes in the next 6 hours. */
  ingestExtraWritesMean: 1.5,
  ingestWindowMs: 6 * HOUR_MS,
  /** Later updates follow the read curve at 2% of its intensity. */
  laterWriteRatio: 0.02,
};

/** ∫ (a + c)^−k da over [lo, hi), for k > 1. */
function powerMass(lo: number, hi: number, c: number, k: number): number {
  return ((lo + c) ** (1 - k) - (hi + c) ** (1 - k)) / (k - 1);
}

/** Solves powerMass(1,2)/powerMass(7,8) = ratio for k by bisection (the ratio grows with k). */
function solveCoolingExponent(ratio: number, c: number): number {
  let lo = 1.0001;
  let hi = 10;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (powerMass(1, 2, c, mid) / powerMass(7, 8, c, mid) < ratio) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export const COOLING_EXPONENT = solveCoolingExponent(COOLING.dayOneOverDaySeven, COOLING.c);

const buildCooling: PopulationBuilder = (ctx) => {
  const { rng, count } = ctx;
  const { c } = COOLING;
  const k = COOLING_EXPONENT;
  const span = ctx.end - ctx.start;
  const created: number[] = [];
  for (let i = 0; i < count; i++) {
    created.push(
      rng.next() < COOLING.backlogFraction
        ? ctx.start - 1 - rng.below(COOLING.backlogDays * DAY_MS)
        : ctx.start + rng.below(span),
    );
  }
  created.sort((a, b) => a - b); // names follow creation order
  const schedule = new Schedule(ctx);
  const datasets: TraceDataset[] = [];
  const amplitude = new Float64Array(count);
  const dayOneMass = powerMass(1, 2, c, k);
  for (let i = 0; i < count; i++) {
    const ds: TraceDataset = {
      name: datasetName(ctx.prefix, i, count),
      size_bytes: drawSize(rng),
      created_at: created[i]!,
    };
    datasets.push(ds);
    amplitude[i] = rng.logNormal(COOLING.dayOneReadsMedian, COOLING.dayOneReadsSigma) / dayOneMass;
    if (ds.created_at >= ctx.start) {
      schedule.add({ ts: ds.created_at, dataset: ds.name, type: 'write', bytes: ds.size_bytes });
      const extra = rng.poisson(COOLING.ingestExtraWritesMean);
      for (let j = 0; j < extra; j++)
        schedule.add(writeEvent(ds.created_at + rng.below(COOLING.ingestWindowMs), ds, rng));
    }
  }
  // Inverse CDF of the power law on [lo, hi) (in days of age).
  const sampleAge = (r: Rng, lo: number, hi: number): number => {
    const L = (lo + c) ** (1 - k);
    const H = (hi + c) ** (1 - k);
    return (L - r.next() * (L - H)) ** (1 / (1 - k)) - c;
  };
  return {
    datasets,
    emitDay(day, r, out) {
      schedule.emit(day, out);
      for (let i = 0; i < count; i++) {
        const ds = datasets[i]!;
        if (ds.created_at >= day.end) break; // sorted by creation
        const lo = Math.max(0, (day.start - ds.created_at) / DAY_MS);
        const hi = (day.end - ds.created_at) / DAY_MS;
        const expected = amplitude[i]! * powerMass(lo, hi, c, k);
        const first = Math.max(day.start, ds.created_at);
        const at = (): number =>
          Math.min(day.end - 1, Math.max(first, Math.floor(ds.created_at + sampleAge(r, lo, hi) * DAY_MS)));
        for (let n = r.poisson(expected); n > 0; n--) out.push(readEvent(at(), ds, r));
        for (let n = r.poisson(expected * COOLING.laterWriteRatio); n > 0; n--) out.push(writeEvent(at(), ds, r));
      }
    },
    expectDay(day, add) {
      for (let i = 0; i < count; i++) {
        const ds = datasets[i]!;
        if (ds.created_at >= day.end) break;
        const lo = Math.max(0, (day.start - ds.created_at) / DAY_MS);
        const hi = (day.end - ds.created_at) / DAY_MS;
        const reads = amplitude[i]! * powerMass(lo, hi, c, k);
        let writes = reads * COOLING.laterWriteRatio;
        if (ds.created_at >= ctx.start) {
          // The creation write, and the ingest writes spread uniformly over the window after it.
          if (ds.created_at >= day.start) writes += 1;
          const inDay = Math.min(day.end, ds.created_at + COOLING.ingestWindowMs) - Math.max(day.start, ds.created_at);
          if (inDay > 0) writes += (COOLING.ingestExtraWritesMean * inDay) / COOLING.ingestWindowMs;
        }
        add(i, reads, reads * expectedPartBytes(ds.size_bytes), writes);
      }
    },
  };
};

// --- zipf ---------------------------------------------------------------------------------------

/**
 * Popularity rank r (a random permutation of datasets) gets a share r^−s / H of all reads, with
 * 0.8 reads per dataset per day in total: at 10,000 datasets the top one is read ~1,200 times a
 * day, the top 1% take ~65% of reads and rank 10,000 is read ~8 times in 180 days.
 */
const ZIPF = { s: 1.1, readsPerDatasetDay: 0.8, writeRatio: 0.05 };

const buildZipf: PopulationBuilder = (ctx) => {
  const { rng, count } = ctx;
  const datasets: TraceDataset[] = [];
  for (let i = 0; i < count; i++) {
    datasets.push({
      name: datasetName(ctx.prefix, i, count),
      size_bytes: drawSize(rng),
      created_at: createdBefore(rng, ctx.start),
    });
  }
  const ranks = rng.shuffle(Array.from({ length: count }, (_, i) => i + 1));
  let harmonic = 0;
  for (let r = 1; r <= count; r++) harmonic += r ** -ZIPF.s;
  const totalPerDay = ZIPF.readsPerDatasetDay * count;
  const rate = ranks.map((r) => (totalPerDay * r ** -ZIPF.s) / harmonic);
  return {
    datasets,
    emitDay(day, r, out) {
      for (let i = 0; i < count; i++) {
        const ds = datasets[i]!;
        for (let n = r.poisson(rate[i]!); n > 0; n--) out.push(readEvent(uniformTs(r, day.start, day.end), ds, r));
        for (let n = r.poisson(rate[i]! * ZIPF.writeRatio); n > 0; n--)
          out.push(writeEvent(uniformTs(r, day.start, day.end), ds, r));
      }
    },
    expectDay(_day, add) {
      for (let i = 0; i < count; i++)
        add(i, rate[i]!, rate[i]! * expectedPartBytes(datasets[i]!.size_bytes), rate[i]! * ZIPF.writeRatio);
    },
  };
};

// --- cycles -------------------------------------------------------------------------------------

/**
 * Each dataset belongs to a team in one time zone and is read at a log-normal rate per working
 * day (median 1, σ 1.3: most datasets are read a few times a day, a few dozen times) shaped by
 * WORKDAY_PROFILE / WEEKEND_PROFILE in local time. Writes follow the same shape at 15%.
 */
const CYCLES = {
  zones: [
    { offsetHours: -5, share: 0.35 }, // Americas
    { offsetHours: 1, share: 0.45 }, // Europe
    { offsetHours: 8, share: 0.2 }, // Asia
  ],
  readsPerWorkdayMedian: 1,
  readsPerWorkdaySigma: 1.3,
  writeRatio: 0.15,
};

const buildCycles: PopulationBuilder = (ctx) => {
  const { rng, count } = ctx;
  const datasets: TraceDataset[] = [];
  const zone = new Uint8Array(count);
  const rate = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    datasets.push({
      name: datasetName(ctx.prefix, i, count),
      size_bytes: drawSize(rng),
      created_at: createdBefore(rng, ctx.start),
    });
    let u = rng.next();
    let z = 0;
    while (z < CYCLES.zones.length - 1 && u >= CYCLES.zones[z]!.share) u -= CYCLES.zones[z++]!.share;
    zone[i] = z;
    rate[i] = rng.logNormal(CYCLES.readsPerWorkdayMedian, CYCLES.readsPerWorkdaySigma);
  }
  return {
    datasets,
    emitDay(day, r, out) {
      const samplers = CYCLES.zones.map((z) => new HourSampler(hourWeights(day.start, z.offsetHours, true)));
      for (let i = 0; i < count; i++) {
        const ds = datasets[i]!;
        const sampler = samplers[zone[i]!]!;
        const expected = rate[i]! * sampler.total;
        for (let n = r.poisson(expected); n > 0; n--) out.push(readEvent(sampler.sample(r, day.start, day.end), ds, r));
        for (let n = r.poisson(expected * CYCLES.writeRatio); n > 0; n--)
          out.push(writeEvent(sampler.sample(r, day.start, day.end), ds, r));
      }
    },
    expectDay(day, add) {
      const totals = CYCLES.zones.map((z) => new HourSampler(hourWeights(day.start, z.offsetHours, true)).total);
      for (let i = 0; i < count; i++) {
        const reads = rate[i]! * totals[zone[i]!]!;
        add(i, reads, reads * expectedPartBytes(datasets[i]!.size_bytes), reads * CYCLES.writeRatio);
      }
    },
  };
};

// --- month-end ----------------------------------------------------------------------------------

/**
 * Outside the reporting window a dataset is read at a log-normal background rate (median one
 * read a month). In the last 2 or 3 days of each month (per dataset) it is read at a log-normal
 * peak rate (median 10 a day) during working hours (weekends included: the close does not wait),
 * the new month's figures land as Poisson(1.5) writes on the window's first day, and the 1st of
 * the next month keeps 20% of the peak as stragglers.
 */
const MONTH_END = {
  backgroundReadsPerDayMedian: 1 / 30,
  backgroundSigma: 0.7,
  backgroundWriteRatio: 0.3,
  windowDays: [2, 3],
  peakReadsPerDayMedian: 10,
  peakSigma: 0.8,
  loadWritesMean: 1.5,
  stragglerFraction: 0.2,
};

/** Days from the window's UTC date to its month's last day (0 on the last day), and its day of month. */
function monthPosition(ts: number): { toMonthEnd: number; dayOfMonth: number } {
  const d = new Date(ts);
  const daysInMonth = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  return { toMonthEnd: daysInMonth - d.getUTCDate(), dayOfMonth: d.getUTCDate() };
}

const buildMonthEnd: PopulationBuilder = (ctx) => {
  const { rng, count } = ctx;
  const datasets: TraceDataset[] = [];
  const background = new Float64Array(count);
  const peak = new Float64Array(count);
  const windowDays = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    datasets.push({
      name: datasetName(ctx.prefix, i, count),
      size_bytes: drawSize(rng),
      created_at: createdBefore(rng, ctx.start),
    });
    background[i] = rng.logNormal(MONTH_END.backgroundReadsPerDayMedian, MONTH_END.backgroundSigma);
    peak[i] = rng.logNormal(MONTH_END.peakReadsPerDayMedian, MONTH_END.peakSigma);
    windowDays[i] = MONTH_END.windowDays[rng.below(MONTH_END.windowDays.length)]!;
  }
  /** Dataset i's expected reads and writes on a day, and whether its reads keep working hours. */
  const rates = (
    i: number,
    toMonthEnd: number,
    dayOfMonth: number,
  ): { reads: number; writes: number; busy: boolean } => {
    const inWindow = toMonthEnd < windowDays[i]!;
    let reads = background[i]!;
    if (inWindow) reads = peak[i]!;
    else if (dayOfMonth === 1) reads = peak[i]! * MONTH_END.stragglerFraction;
    let writes = background[i]! * MONTH_END.backgroundWriteRatio;
    if (toMonthEnd === windowDays[i]! - 1) writes += MONTH_END.loadWritesMean;
    return { reads, writes, busy: inWindow || dayOfMonth === 1 };
  };
  return {
    datasets,
    emitDay(day, r, out) {
      // The calendar date of a window is that of its midpoint (exact when start is midnight UTC).
      const { toMonthEnd, dayOfMonth } = monthPosition(day.start + DAY_MS / 2);
      const working = new HourSampler(hourWeights(day.start, 0, false));
      for (let i = 0; i < count; i++) {
        const ds = datasets[i]!;
        const { reads, writes, busy } = rates(i, toMonthEnd, dayOfMonth);
        const at = (): number => (busy ? working.sample(r, day.start, day.end) : uniformTs(r, day.start, day.end));
        for (let n = r.poisson(reads); n > 0; n--) out.push(readEvent(at(), ds, r));
        for (let n = r.poisson(writes); n > 0; n--) out.push(writeEvent(at(), ds, r));
      }
    },
    expectDay(day, add) {
      const { toMonthEnd, dayOfMonth } = monthPosition(day.start + DAY_MS / 2);
      for (let i = 0; i < count; i++) {
        const { reads, writes } = rates(i, toMonthEnd, dayOfMonth);
        add(i, reads, reads * expectedPartBytes(datasets[i]!.size_bytes), writes);
      }
    },
  };
};

// --- read-once ----------------------------------------------------------------------------------

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

// --- nightly-scan -------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Workload assembly
// ---------------------------------------------------------------------------------------------

function resolveOptions(opts: GenerateOptions = {}): Required<GenerateOptions> {
  const o = { ...DEFAULT_OPTIONS, ...stripUndefined(opts) };
  if (!Number.isSafeInteger(o.seed)) throw new Error(`seed: must be an integer, got ${o.seed}`);
  if (!Number.isSafeInteger(o.datasets) || o.datasets < 1)
    throw new Error(`datasets: must be a positive integer, got ${o.datasets}`);
  if (!Number.isSafeInteger(o.days) || o.days < 1) throw new Error(`days: must be a positive integer, got ${o.days}`);
  if (!Number.isSafeInteger(o.start)) throw new Error(`start: must be integer ms since the epoch, got ${o.start}`);
  return o;
}

function stripUndefined(opts: GenerateOptions): GenerateOptions {
  return Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
}

/** Splits n into parts proportional to shares (largest remainder, ties to the earlier part). */
function apportion(n: number, shares: readonly number[]): number[] {
  const total = shares.reduce((s, x) => s + x, 0);
  const exact = shares.map((s) => (n * s) / total);
  const parts = exact.map(Math.floor);
  const order = exact.map((x, i) => ({ i, rem: x - Math.floor(x) })).sort((a, b) => b.rem - a.rem || a.i - b.i);
  for (let j = 0; j < n - parts.reduce((s, x) => s + x, 0); j++) parts[order[j]!.i]!++;
  return parts;
}

/** Builds a trace from populations that split the datasets in the given shares. */
function assemble(
  name: string,
  description: string,
  opts: GenerateOptions | undefined,
  parts: ReadonlyArray<{ prefix: string; share: number; build: PopulationBuilder }>,
): Trace {
  const { seed, datasets, days, start } = resolveOptions(opts);
  const end = start + days * DAY_MS;
  const rng = new Rng(seed, 0);
  const counts = apportion(
    datasets,
    parts.map((p) => p.share),
  );
  const populations = parts.map((p, j) => p.build({ rng, count: counts[j]!, prefix: p.prefix, start, days, end }));
  const catalog: TraceCatalog = {
    workload: name,
    description,
    start,
    days,
    datasets: populations.flatMap((p) => p.datasets),
  };
  const expected = (): ExpectedUse => {
    const n = catalog.datasets.length;
    const use: ExpectedUse = {
      reads: new Float64Array(n * days),
      bytes: new Float64Array(n * days),
      writes: new Float64Array(n * days),
      known: new Uint8Array(n),
    };
    let first = 0;
    for (const p of populations) {
      if (p.expectDay) {
        use.known.fill(1, first, first + p.datasets.length);
        for (let d = 0; d < days; d++) {
          const day: DayWindow = { index: d, start: start + d * DAY_MS, end: start + (d + 1) * DAY_MS };
          p.expectDay(day, (i, reads, bytesRead, writes) => {
            const at = (first + i) * days + d;
            use.reads[at]! += reads;
            use.bytes[at]! += bytesRead;
            use.writes[at]! += writes;
          });
        }
      }
      first += p.datasets.length;
    }
    return use;
  };
  return {
    catalog,
    expected,
    *events(): Generator<TraceEvent> {
      for (let d = 0; d < days; d++) {
        const day: DayWindow = { index: d, start: start + d * DAY_MS, end: start + (d + 1) * DAY_MS };
        const r = new Rng(seed, 1 + d);
        const out: TraceEvent[] = [];
        for (const p of populations) p.emitDay(day, r, out);
        out.sort((a, b) => a.ts - b.ts); // stable: ties keep generation order (a creation write before its reads)
        yield* out;
      }
    },
  };
}

const SINGLE: Record<string, { description: string; build: PopulationBuilder }> = {
  cooling: {
    description:
      'Datasets created throughout the period (15% already up to 60 days old at the start), written at creation, then read less and less: ' +
      'reads fall as a power law of age, about 10x from day 1 to day 7 after creation, and keep falling.',
    build: buildCooling,
  },
  zipf: {
    description:
      'A fixed population whose popularity follows Zipf (s = 1.1): steady daily reads with Poisson noise; the top 1% of datasets take ' +
      'about two thirds of the reads and the long tail is read a handful of times in six months.',
    build: buildZipf,
  },
  cycles: {
    description:
      "Datasets used in business hours of their team's time zone (UTC-5, UTC+1 or UTC+8): busy 08:00-18:00 on weekdays with a lunch dip, " +
      'little at night, and about 8% of the weekday level at weekends.',
    build: buildCycles,
  },
  'month-end': {
    description:
      'Reporting datasets, idle most of the month (about one read a month), that re-warm in the last 2 or 3 days of each month ' +
      '(new figures written, then read ~10 times a day) with stragglers on the 1st, then cool again.',
    build: buildMonthEnd,
  },
  'read-once': {
    description:
      'ETL hand-offs: each dataset is written once, read in full by its consumer within hours (30% read again 1-3 days later), ' +
      'then never touched again.',
    build: buildReadOnce,
  },
  'nightly-scan': {
    description:
      'Cold datasets (a real read every month or two) that a backup / antivirus job reads in full every night between 00:30 and 05:00 UTC; ' +
      'those reads are flagged scan: true and read the whole size.',
    build: buildNightlyScan,
  },
};

/** The mix's proportions, in catalog order. */
export const MIX_SHARES: Readonly<Record<string, number>> = {
  cooling: 0.3,
  zipf: 0.25,
  cycles: 0.15,
  'month-end': 0.1,
  'read-once': 0.1,
  'nightly-scan': 0.1,
};

export const WORKLOADS: Record<string, WorkloadSpec> = {};
for (const [name, w] of Object.entries(SINGLE)) {
  WORKLOADS[name] = {
    name,
    description: w.description,
    generate: (opts) => assemble(name, w.description, opts, [{ prefix: name, share: 1, build: w.build }]),
  };
}
{
  const description =
    'All of the above in one population: ' +
    Object.entries(MIX_SHARES)
      .map(([n, s]) => `${Math.round(s * 100)}% ${n}`)
      .join(', ') +
    '; dataset names are prefixed with their behaviour.';
  const parts = Object.entries(MIX_SHARES).map(([prefix, share]) => ({ prefix, share, build: SINGLE[prefix]!.build }));
  WORKLOADS['mix'] = { name: 'mix', description, generate: (opts) => assemble('mix', description, opts, parts) };
}

// ---------------------------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------------------------

export interface TraceSummary {
  workload: string;
  datasets: number;
  days: number;
  events: number;
  /** Reads that are not scans. */
  reads: number;
  writes: number;
  /** Events flagged scan (reads or writes). */
  scans: number;
  /** Bytes of all events (reads, writes and scans). */
  bytes: number;
  bytes_read: number;
  bytes_written: number;
  bytes_scanned: number;
  /** Sum of the catalog's dataset sizes. */
  stored_bytes: number;
}

/** Accumulates a summary event by event (so a caller can count while it streams). */
export class SummaryCounter {
  private events = 0;
  private reads = 0;
  private writes = 0;
  private scans = 0;
  // BigInt: a season of scans over petabytes passes 2^53 bytes.
  private read = 0n;
  private written = 0n;
  private scanned = 0n;

  add(ev: TraceEvent): void {
    this.events++;
    const b = BigInt(ev.bytes);
    if (ev.scan) {
      this.scans++;
      this.scanned += b;
    } else if (ev.type === 'read') {
      this.reads++;
      this.read += b;
    } else {
      this.writes++;
      this.written += b;
    }
  }

  summary(catalog: TraceCatalog): TraceSummary {
    return {
      workload: catalog.workload,
      datasets: catalog.datasets.length,
      days: catalog.days,
      events: this.events,
      reads: this.reads,
      writes: this.writes,
      scans: this.scans,
      bytes: Number(this.read + this.written + this.scanned),
      bytes_read: Number(this.read),
      bytes_written: Number(this.written),
      bytes_scanned: Number(this.scanned),
      stored_bytes: catalog.datasets.reduce((s, d) => s + d.size_bytes, 0),
    };
  }
}

export function summarizeTrace(trace: Trace): TraceSummary {
  const counter = new SummaryCounter();
  for (const ev of trace.events()) counter.add(ev);
  return counter.summary(trace.catalog);
}

// ---------------------------------------------------------------------------------------------
// On-disk format: <name>.catalog.json and <name>.jsonl
// ---------------------------------------------------------------------------------------------

export function tracePaths(dir: string, name: string): { catalogPath: string; eventsPath: string } {
  return { catalogPath: path.join(dir, `${name}.catalog.json`), eventsPath: path.join(dir, `${name}.jsonl`) };
}

/** One event as a JSON line, fields in a fixed order, `scan` only when true. */
function eventLine(ev: TraceEvent): string {
  return `{"ts":${ev.ts},"dataset":${JSON.stringify(ev.dataset)},"type":"${ev.type}","bytes":${ev.bytes}${ev.scan ? ',"scan":true' : ''}}\n`;
}

/** The catalog as JSON with one dataset per line (diffable, greppable). */
function catalogJson(catalog: TraceCatalog): string {
  const { datasets, ...head } = catalog;
  const headJson = JSON.stringify(head, null, 2);
  const lines = datasets.map((d) => '    ' + JSON.stringify(d));
  return `${headJson.slice(0, -2)},\n  "datasets": [\n${lines.join(',\n')}\n  ]\n}\n`;
}

/**
 * Writes `<dir>/<name>.catalog.json` and `<dir>/<name>.jsonl`, streaming the events (with
 * backpressure) so a trace of any length needs one chunk of memory. Each file is written under a
 * temporary name and renamed when complete, so a crashed write leaves no half trace behind.
 */
export async function writeTrace(
  trace: Trace,
  dir: string,
  name: string,
): Promise<{ catalogPath: string; eventsPath: string }> {
  await fs.promises.mkdir(dir, { recursive: true });
  const { catalogPath, eventsPath } = tracePaths(dir, name);
  const tmpEvents = `${eventsPath}.tmp-${process.pid}`;
  const tmpCatalog = `${catalogPath}.tmp-${process.pid}`;
  function* chunks(): Generator<string> {
    let buf = '';
    for (const ev of trace.events()) {
      buf += eventLine(ev);
      if (buf.length >= 1 << 18) {
        yield buf;
        buf = '';
      }
    }
    if (buf) yield buf;
  }
  try {
    await pipeline(Readable.from(chunks()), fs.createWriteStream(tmpEvents));
    await fs.promises.writeFile(tmpCatalog, catalogJson(trace.catalog));
    await fs.promises.rename(tmpEvents, eventsPath);
    await fs.promises.rename(tmpCatalog, catalogPath);
  } catch (err) {
    await Promise.all([fs.promises.rm(tmpEvents, { force: true }), fs.promises.rm(tmpCatalog, { force: true })]);
    throw err;
  }
  return { catalogPath, eventsPath };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNonNegativeInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Parses and validates a catalog; errors name the file and the field (`datasets[3].size_bytes`). */
function parseCatalog(text: string, file: string): TraceCatalog {
  const fail = (field: string, msg: string): never => {
    throw new Error(`${file}: ${field}: ${msg}`);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return fail('(file)', `invalid JSON (${(err as Error).message})`);
  }
  if (!isObject(raw)) return fail('(file)', 'must be a JSON object');
  if (typeof raw['workload'] !== 'string') fail('workload', 'must be a string');
  if (typeof raw['description'] !== 'string') fail('description', 'must be a string');
  if (!Number.isSafeInteger(raw['start'])) fail('start', 'must be integer ms since the epoch');
  if (!Number.isSafeInteger(raw['days']) || (raw['days'] as number) < 1) fail('days', 'must be a positive integer');
  if (!Array.isArray(raw['datasets'])) fail('datasets', 'must be an array');
  const seen = new Set<string>();
  const datasets = (raw['datasets'] as unknown[]).map((d, i): TraceDataset => {
    const at = `datasets[${i}]`;
    if (!isObject(d)) return fail(at, 'must be an object');
    for (const key of Object.keys(d)) {
      if (!['name', 'size_bytes', 'created_at', 'location', 'tier'].includes(key))
        fail(`${at}.${key}`, 'unknown field');
    }
    if (typeof d['name'] !== 'string' || d['name'] === '') fail(`${at}.name`, 'must be a non-empty string');
    const name = d['name'] as string;
    if (seen.has(name)) fail(`${at}.name`, `duplicate dataset ${JSON.stringify(name)}`);
    seen.add(name);
    if (!isNonNegativeInt(d['size_bytes'])) fail(`${at}.size_bytes`, 'must be a non-negative integer');
    if (!Number.isSafeInteger(d['created_at'])) fail(`${at}.created_at`, 'must be integer ms since the epoch');
    const ds: TraceDataset = { name, size_bytes: d['size_bytes'] as number, created_at: d['created_at'] as number };
    if (d['location'] !== undefined) {
      if (!(LOCATIONS as readonly unknown[]).includes(d['location']))
        fail(`${at}.location`, `must be one of ${LOCATIONS.join(', ')}`);
      ds.location = d['location'] as TraceDataset['location'];
    }
    if (d['tier'] !== undefined) {
      if (!(TIERS as readonly unknown[]).includes(d['tier'])) fail(`${at}.tier`, `must be one of ${TIERS.join(', ')}`);
      ds.tier = d['tier'] as TraceDataset['tier'];
    }
    return ds;
  });
  return {
    workload: raw['workload'] as string,
    description: raw['description'] as string,
    start: raw['start'] as number,
    days: raw['days'] as number,
    datasets,
  };
}

const EVENT_FIELDS = new Set(['ts', 'dataset', 'type', 'bytes', 'scan']);
const MAX_LINE_BYTES = 1 << 20;

/**
 * Reads a trace from its two files. The catalog is read and validated now; the events are read
 * lazily, line by line, each time `events()` is iterated, and validated as they are read: a bad
 * line throws an Error naming the file, line number and field, e.g.
 * `t.jsonl:3: bytes: must be a non-negative integer, got -5`. Blank lines are skipped; unknown
 * fields are rejected (a misspelt `scan` would otherwise silently warm a dataset).
 */
export function readTrace(catalogPath: string, eventsPath: string): Trace {
  const catalog = parseCatalog(fs.readFileSync(catalogPath, 'utf8'), catalogPath);
  fs.accessSync(eventsPath, fs.constants.R_OK); // a missing file fails now, not at the first iteration
  const byName = new Map(catalog.datasets.map((d) => [d.name, d]));
  const end = catalog.start + catalog.days * DAY_MS;

  function parseLine(text: string, lineNo: number, prevTs: number): TraceEvent {
    const fail = (field: string, msg: string): never => {
      throw new Error(`${eventsPath}:${lineNo}: ${field}: ${msg}`);
    };
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      return fail('(line)', `invalid JSON (${(err as Error).message})`);
    }
    if (!isObject(raw)) return fail('(line)', 'must be a JSON object');
    for (const key of Object.keys(raw)) if (!EVENT_FIELDS.has(key)) fail(key, 'unknown field');
    const { ts, dataset, type, bytes, scan } = raw;
    if (typeof dataset !== 'string') return fail('dataset', 'missing or not a string');
    const ds = byName.get(dataset);
    if (!ds) return fail('dataset', `unknown dataset ${JSON.stringify(dataset)}`);
    if (type !== 'read' && type !== 'write')
      return fail('type', `must be "read" or "write", got ${JSON.stringify(type)}`);
    if (!isNonNegativeInt(bytes)) return fail('bytes', `must be a non-negative integer, got ${JSON.stringify(bytes)}`);
    if (scan !== undefined && typeof scan !== 'boolean')
      return fail('scan', `must be a boolean, got ${JSON.stringify(scan)}`);
    if (!Number.isSafeInteger(ts)) return fail('ts', `must be integer ms since the epoch, got ${JSON.stringify(ts)}`);
    const t = ts as number;
    if (t < catalog.start || t >= end) fail('ts', `${t} is outside the trace [${catalog.start}, ${end})`);
    if (t < prevTs) fail('ts', `out of order: ${t} < previous event's ${prevTs}`);
    if (t < ds.created_at) fail('ts', `${t} precedes the creation of ${dataset} at ${ds.created_at}`);
    const ev: TraceEvent = { ts: t, dataset, type, bytes };
    if (scan) ev.scan = true;
    return ev;
  }

  function* events(): Generator<TraceEvent> {
    const fd = fs.openSync(eventsPath, 'r');
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      let carry: Buffer = Buffer.alloc(0);
      let lineNo = 0;
      let prevTs = -Infinity;
      const handle = (text: string): TraceEvent | undefined => {
        lineNo++;
        if (text.trim() === '') return undefined;
        const ev = parseLine(text, lineNo, prevTs);
        prevTs = ev.ts;
        return ev;
      };
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        const chunk = carry.length > 0 ? Buffer.concat([carry, buf.subarray(0, n)]) : buf.subarray(0, n);
        let pos = 0;
        for (let nl = chunk.indexOf(10, pos); nl !== -1; nl = chunk.indexOf(10, pos)) {
          const ev = handle(chunk.toString('utf8', pos, nl));
          pos = nl + 1;
          if (ev) yield ev;
        }
        carry = Buffer.from(chunk.subarray(pos)); // a copy: buf is reused by the next read
        if (carry.length > MAX_LINE_BYTES)
          throw new Error(`${eventsPath}:${lineNo + 1}: (line): longer than ${MAX_LINE_BYTES} bytes`);
      }
      if (carry.length > 0) {
        const ev = handle(carry.toString('utf8'));
        if (ev) yield ev;
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  return { catalog, events };
}
