/** How soon data written but not yet read is read: the fleet's own delays between a write and its first read. */

const DAY = 86_400_000;

/** Age bins in days (the last runs on without end). Finer where first reads are common. */
export const FIRST_READ_AGE_EDGES = [0, 1, 2, 3, 5, 7, 10, 14, 21, 28, 35, 45, 60, 90, 120, 180, 270, 365] as const;
const BINS = FIRST_READ_AGE_EDGES.length;
/** The curve is trusted once this many datasets were counted. */
export const FIRST_READ_MIN_DATASETS = 200;
/**
 * The scheduler sums the curve again after this long: ages move by days, and the sum is a pass
 * over every dataset (0.14-0.3 s at 100,000 on two busy cores, some 7% of a run).
 */
export const FIRST_READ_REFRESH_MS = 6 * 3_600_000;
/** An age bin speaks for its ages once it holds this many datasets. */
export const FIRST_READ_MIN_BIN = 20;
/**
 * Data still unread where nearly all of its age group has been read is more likely never read
 * than late: the chance of a first read is taken over the share unread plus this much of the
 * fleet, as if that share were never read.
 */
const NEVER_READ_SHARE = 0.01;

/** Datasets per age bin, and how many of them no (non-scan) read has reached yet. */
export interface FirstReadTotals {
  datasets: number[];
  unread: number[];
}

export function ageBin(ageDays: number): number {
  let b = 0;
  while (b < BINS - 1 && ageDays >= FIRST_READ_AGE_EDGES[b + 1]!) b++;
  return b;
}

/**
 * The chance that data still unread at some age is read within the next days, from the fleet
 * as it stands: among datasets of each age, the share not read yet (S(age), a cross-section of
 * cohorts, as a life table does). P(first read within w | unread at a) = (S(a) − S(a + w)) ÷ (S(a) + NEVER_READ_SHARE).
 * Learnt from the statistics alone, so it is known from the first run, without waiting for
 * forecasts to mature (issue 13: a prior for data not yet read).
 */
export class FirstReadCurve {
  /** Share still unread at each bin's lower edge, never rising with age. */
  private readonly survival: Float64Array;
  /** Ages beyond the last bin that holds FIRST_READ_MIN_BIN datasets are not known. */
  private readonly knownDays: number;

  private constructor(survival: Float64Array, knownDays: number) {
    this.survival = survival;
    this.knownDays = knownDays;
  }

  /** The curve from totals, or null while fewer than FIRST_READ_MIN_DATASETS were counted. */
  static from(t: FirstReadTotals): FirstReadCurve | null {
    let n = 0;
    for (let b = 0; b < BINS; b++) n += t.datasets[b] ?? 0;
    if (n < FIRST_READ_MIN_DATASETS) return null;
    const s = new Float64Array(BINS);
    let prev = 1;
    let known = 0;
    for (let b = 0; b < BINS; b++) {
      const d = t.datasets[b] ?? 0;
      // A bin of a few datasets says little: it keeps the younger bin's share.
      if (d >= FIRST_READ_MIN_BIN) {
        known = b === BINS - 1 ? Infinity : FIRST_READ_AGE_EDGES[b + 1]!;
        // A cross-section mixes cohorts of different sizes, so an older bin may show more unread
        // than a younger one: the curve keeps the running minimum (a share unread cannot grow).
        prev = Math.min(prev, Math.min(d, t.unread[b] ?? 0) / d);
      }
      s[b] = prev;
    }
    return new FirstReadCurve(s, known);
  }

  /** Share of datasets still unread at `ageDays`, between bin edges linearly. */
  unreadAt(ageDays: number): number {
    const b = ageBin(ageDays);
    if (b === BINS - 1) return this.survival[b]!;
    const lo = FIRST_READ_AGE_EDGES[b]!;
    const hi = FIRST_READ_AGE_EDGES[b + 1]!;
    const t = (ageDays - lo) / (hi - lo);
    return this.survival[b]! * (1 - t) + this.survival[b + 1]! * t;
  }

  /**
   * P(a first read within `withinDays` | no read by `ageDays`), or null when the fleet has no
   * datasets that old yet (a young installation cannot know that old unread data stays unread).
   */
  pFirstRead(ageDays: number, withinDays: number): number | null {
    if (ageDays + withinDays > this.knownDays) return null;
    const now = this.unreadAt(ageDays);
    const later = this.unreadAt(ageDays + withinDays);
    return Math.min(1, Math.max(0, (now - later) / (now + NEVER_READ_SHARE)));
  }
}

/** Sums FirstReadTotals over one pass of the datasets (a replay's step; live, SQL sums them). */
export class FirstReadEstimator {
  readonly totals: FirstReadTotals = {
    datasets: new Array<number>(BINS).fill(0),
    unread: new Array<number>(BINS).fill(0),
  };

  add(createdAt: number, now: number, reads: number, scans: number): void {
    if (createdAt > now) return;
    const b = ageBin((now - createdAt) / DAY);
    this.totals.datasets[b]!++;
    if (reads - scans <= 0) this.totals.unread[b]!++;
  }

  curve(): FirstReadCurve | null {
    return FirstReadCurve.from(this.totals);
  }
}
