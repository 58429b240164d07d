/**
 * Periodic readers timed, whatever the size of their reads: a month-end report or a weekly job
 * piles its reads at one phase of its period, seen in the dataset's own read phases (sums of unit
 * vectors, src/analytics/read-phases.ts). A demotion taken just before such a window pays the
 * window's reads at the dearer placement, where the same demotion taken just after it does not:
 * the policy compares the two (see windowHolds).
 */
import { monthPhase, weekPhase } from '../analytics';
import type { CostModel } from './cost';
import type { StatsSnapshot } from './features';
import { bytesPerRead } from './read-share';

const DAY = 86_400_000;
const TAU = 2 * Math.PI;
/** A mean month, in days: a window's distance is measured in the calendar's phase, priced in days. */
const MONTH_DAYS = 365.25 / 12;

/**
 * Rayleigh's test of the phases against reads at random times: the chance of a resultant at least
 * this long by chance is about e^(−Z), Z = n R̄². 6.9 is one in a thousand: a fleet of ten thousand
 * random readers gives about ten, each held at most one period.
 */
export const PERIODIC_Z = 6.9;
/** Fewer reads than this say nothing of a period, however they fall. */
export const PERIODIC_MIN_READS = 8;
/** A period is taken as seen once the dataset's reads span this many of it. */
export const PERIODIC_MIN_PERIODS = 2;

/** A periodic reader's next window: the reads due until it has passed, and the days until then. */
export interface ReadWindow {
  period: 'month' | 'week';
  /** Reads expected from now until the window has passed (the window's and the rest's). */
  reads: number;
  /** Days from now until the window has passed (its mean phase plus its spread). */
  days: number;
}

/**
 * The windows of the dataset's periodic readers (its month and its week) that pass within
 * `horizonDays`, each with the reads due until it has passed.
 *
 * The phases' resultant R̄ (the vectors' sum ÷ their count) is about the share of reads in the
 * window, where the rest fall at random: a window of a tenth of the period keeps 98% of it. Its
 * angle is the window's mean phase, and √(−2 ln R̄) (the circular standard deviation) its spread:
 * the window has passed a spread after its mean. Reads per period come from the dataset's reads
 * over the days seen. A reader whose last read is older than a period and its spread has stopped.
 * Reads piled at one phase of twice the period as well are one stretch of reads, not a window.
 */
export function readWindows(stats: StatsSnapshot, now: number, horizonDays: number): ReadWindow[] {
  const ph = stats.phases;
  const n = ph?.reads ?? 0;
  if (ph === undefined || n < PERIODIC_MIN_READS || stats.firstAccess === null) return [];
  const seenDays = (now - stats.firstAccess) / DAY;
  const idleDays = stats.decayAt > 0 ? (now - stats.decayAt) / DAY : seenDays;
  const out: ReadWindow[] = [];
  const one = (period: ReadWindow['period'], days: number, sums: PeriodSums, phaseNow: number): void => {
    if (seenDays < PERIODIC_MIN_PERIODS * days) return;
    const r = Math.hypot(sums.cos, sums.sin) / n;
    if (!(r > 0) || n * r * r < PERIODIC_Z) return;
    // Piled at one phase of the double period too: the reads came in one stretch (data read hard
    // in its first weeks), not in a window that comes back every period.
    if (Math.hypot(sums.cos2, sums.sin2) ** 2 / n >= PERIODIC_Z) return;
    const mean = Math.atan2(sums.sin, sums.cos);
    const spread = Math.sqrt(-2 * Math.log(Math.min(1, r)));
    if (idleDays > days * (1 + spread / TAU)) return;
    // How far ahead the window has passed; a window under way still has its rest ahead.
    const ahead = mod(mean + spread - phaseNow, TAU);
    const untilDays = (ahead / TAU) * days;
    if (untilDays > horizonDays) return;
    const rate = n / Math.max(1, seenDays);
    const windowShare = Math.min(1, r);
    const width = 2 * spread;
    const leftOfWindow = width > 0 ? Math.min(1, ahead / width) : 1;
    const reads = windowShare * rate * days * leftOfWindow + (1 - windowShare) * rate * untilDays;
    out.push({ period, reads, days: untilDays });
  };
  one(
    'month',
    MONTH_DAYS,
    { cos: ph.monthCos, sin: ph.monthSin, cos2: ph.month2Cos, sin2: ph.month2Sin },
    monthPhase(now),
  );
  one('week', 7, { cos: ph.weekCos, sin: ph.weekSin, cos2: ph.week2Cos, sin2: ph.week2Sin }, weekPhase(now));
  return out;
}

/** One period's phase sums, and the same over twice the period. */
interface PeriodSums {
  cos: number;
  sin: number;
  cos2: number;
  sin2: number;
}

/**
 * Whether a demotion waits for a periodic reader's window to pass: moving now pays the reads due
 * until then at the dearer placement (`dearerPerRead` each); moving once it has passed forgoes the
 * storage saved meanwhile (`storageSaved` over `horizonDays`, pro rata). The cheaper of the two
 * decides: a month-end report's dataset is demoted after its close, not ten days before it.
 */
export function windowHolds(
  windows: readonly ReadWindow[],
  storageSaved: number,
  dearerPerRead: number,
  horizonDays: number,
): boolean {
  for (const w of windows) {
    if (w.reads * dearerPerRead > (storageSaved * w.days) / horizonDays) return true;
  }
  return false;
}

/** A demotion from `cur` to `to` as waitsForWindow prices it. */
export interface WindowedDemotion {
  cost: CostModel;
  stats: StatsSnapshot;
  cur: number;
  to: number;
  size: number;
  now: number;
  horizonDays: number;
  /** The fleet's read share of the size (see bytesPerRead). */
  readShare: number;
}

/**
 * Whether a demotion waits until a periodic reader's window has passed (windowHolds): its reads
 * due until then priced as one read of the dataset's bytes per read each, dearer there.
 */
export function waitsForWindow(d: WindowedDemotion): boolean {
  const { cost, cur, to, size, horizonDays: H } = d;
  const windows = readWindows(d.stats, d.now, H);
  if (windows.length === 0) return false;
  const one = { reads: 1, readBytes: bytesPerRead(d.stats, size, d.readShare), writes: 0, writeBytes: 0 };
  const access = (i: number): number => cost.hold(i, size, one, H) - cost.storage(i, size, H);
  const dearer = access(to) - access(cur);
  const saved = cost.storage(cur, size, H) - cost.storage(to, size, H);
  return dearer > 0 && windowHolds(windows, saved, dearer, H);
}

function mod(x: number, m: number): number {
  return x - m * Math.floor(x / m);
}
