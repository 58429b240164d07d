/**
 * How sure a dataset's own accesses are of its rate. A rate counted from n events is known to
 * about 1/√n: four reads in a month say "somewhere between two and eight". A demotion priced on
 * the model's forecast alone bets that use stays below its break-even, and for a large dataset
 * read a few times the bet is lost often enough to cost more than the saving (issue 13: zipf at
 * half storage prices, seed 4, 1.071× always-HOT: a 5.4 TB dataset and a dozen of 0.3-2 TB sent
 * to COLD on 2-6 reads when the model's first forecast fell to 0.2-0.5 a month, read 19-25 times
 * after; with the charge, 0.997×). See TieringPolicy.useRisk.
 */

/** The regularised upper incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a), for a > 0, x ≥ 0. */
export function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  if (x < a + 1) return Math.max(0, 1 - gammaPSeries(a, x));
  return Math.min(1, gammaQFraction(a, x));
}

const EPS = 1e-12;
const MAX_TERMS = 500;

/** P(a, x) by its series (converges fast for x < a + 1). */
function gammaPSeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  for (let n = 1; n < MAX_TERMS; n++) {
    term *= x / (a + n);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * EPS) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - logGamma(a));
}

/** Q(a, x) by its continued fraction (modified Lentz; for x ≥ a + 1). */
function gammaQFraction(a: number, x: number): number {
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_TERMS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
}

const LANCZOS = [
  676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(z) for z > 0 (Lanczos, g = 7). */
export function logGamma(z: number): number {
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - logGamma(1 - z);
  const x = z - 1;
  let s = 0.99999999999980993;
  for (let k = 0; k < LANCZOS.length; k++) s += LANCZOS[k]! / (x + k + 1);
  const t = x + LANCZOS.length - 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(s);
}

/**
 * The chance that a dataset's rate is above `breakEven` accesses per `horizonDays`, from its own
 * accesses alone: `count` of them (a decayed sum, weighted 2^(−age / half-life)) over `exposureDays`
 * (the same weights summed over the time counted). A gamma posterior of shape count + 1 (a flat
 * prior) and rate exposureDays / horizonDays.
 */
export function pRateAbove(count: number, exposureDays: number, breakEven: number, horizonDays: number): number {
  if (!(breakEven > 0)) return 1;
  const a = Math.max(0, count) + 0.5;
  return gammaQ(a, (breakEven * exposureDays) / horizonDays);
}

/** What a decayed sum of half-life `halfLifeDays` has counted over `seenDays`: Σ of its weights, in days. */
export function decayedExposure(seenDays: number, halfLifeDays: number): number {
  return (halfLifeDays / Math.LN2) * (1 - 2 ** (-Math.max(0, seenDays) / halfLifeDays));
}

/**
 * Whether a dataset's last week is still its last month's pace: the chance of a week this quiet
 * (its 1-week decayed count or fewer) at the 30-day rate, P(Poisson(mean) ≤ count) = Q(⌊count⌋ + 1, mean).
 * Data whose readers stopped (a hand-off done, a burst over) scores near zero; sparse steady
 * reads, a week without one included, score high.
 */
export function pQuietWeek(weekCount: number, expected: number): number {
  if (!(expected > 0)) return 1;
  return gammaQ(Math.floor(Math.max(0, weekCount)) + 1, expected);
}

/** A dataset's own evidence on a demotion (see TieringPolicy.rateEvidence). */
export interface RateEvidence {
  /** Its accesses, a 30-day decayed count. */
  count: number;
  /** The days that count has counted (decayedExposure). */
  exposure: number;
  /** Accesses per horizon above which the dearer access there eats the storage saved. */
  breakEven: number;
  /** What the demotion costs if use is above the break-even after all: a read there and the move back. */
  comeBack: number;
  /** What one access costs more there than here. */
  perAccess: number;
  /** Accessed within the horizon: an older count is no rate over the last horizon, which was silent. */
  recent: boolean;
}

/**
 * Whether a dataset's own evidence holds a demotion: the saving, less the chance its rate is
 * above the break-even times the come-back (pRateAbove), does not beat `margin` (the move with
 * its hysteresis). The saving is the forecast's, but no more than at the dataset's own rate
 * (its posterior mean) while it was accessed within the horizon: the model's forecast of a
 * dataset read a few times moves by half from one day to the next, and a demotion taken on the
 * day it dips below the dataset's own count
 * bets on the dip (issue 13: two 5.5 TB datasets read 4 times in their first 38 days, demoted on
 * a forecast of 1.8-2.4 a month against their own 3.5-4, then read 36 and 44 times in all, cost
 * cycles at half storage prices 1.018× always-HOT).
 */
export function ownEvidenceHolds(e: RateEvidence, saving: number, margin: number, horizonDays: number): boolean {
  const shape = Math.max(0, e.count) + 0.5;
  const horizons = e.exposure / horizonDays;
  const risk = gammaQ(shape, e.breakEven * horizons) * e.comeBack;
  if (!(risk > 0)) return false;
  const atOwnRate = e.recent && horizons > 0 ? (e.breakEven - shape / horizons) * e.perAccess : saving;
  return Math.min(saving, atOwnRate) - risk < margin;
}
