import { HALF_LIVES, decayTo, ratePerHour } from '../analytics';

const DAY = 86_400_000;

/**
 * What the predictor knows of one dataset at one instant: the statistics the pipeline keeps
 * (src/analytics), read the same way live (from SQLite) and in a replay (from memory).
 */
export interface StatsSnapshot {
  createdAt: number;
  sizeBytes: number;
  /** Totals since the dataset began; reads include scans. */
  reads: number;
  writes: number;
  scans: number;
  bytesRead: number;
  /** Decayed sums of non-scan accesses, referenced at `decayAt` (the last non-scan access, 0 if none). */
  decayAt: number;
  decay1h: number;
  decay1d: number;
  decay1w: number;
  decay30d: number;
  /** First access of any kind (null if none). */
  firstAccess: number | null;
  /**
   * Non-scan reads of at least half the size: how many, their bytes, their bursts and the
   * first and latest (src/analytics/large-reads.ts). Absent where a caller has no such counts.
   */
  large?: LargeReadCounts;
  /** Where in the month and week its non-scan reads fell (src/analytics/read-phases.ts). Absent where a caller has none. */
  phases?: ReadPhaseSums;
}

/** A dataset's read phases as the policy reads them: reads counted and their unit vectors' sums. */
export interface ReadPhaseSums {
  reads: number;
  monthCos: number;
  monthSin: number;
  weekCos: number;
  weekSin: number;
  /** Over two months and two weeks (see src/analytics/read-phases.ts). */
  month2Cos: number;
  month2Sin: number;
  week2Cos: number;
  week2Sin: number;
}

/** A dataset's large reads as the policy reads them. */
export interface LargeReadCounts {
  reads: number;
  bytes: number;
  bursts: number;
  first: number | null;
  last: number | null;
  /** Σ of squared gaps between bursts, hours². */
  gapSq: number;
}

/** Names of the model's inputs, in order (index 0 is the intercept). */
export const FEATURE_NAMES = [
  'bias',
  'log_rate_1h',
  'log_rate_1d',
  'log_rate_1w',
  'log_rate_30d',
  'log_rate_lifetime',
  'log_days_idle',
  'log_age_days',
] as const;
export const N_FEATURES = FEATURE_NAMES.length;

/** What the features say in plain units, for explanations. */
export interface FeatureView {
  /** Non-scan accesses per day implied by each decayed sum, as of now. */
  rate_per_day_1h: number;
  rate_per_day_1d: number;
  rate_per_day_1w: number;
  rate_per_day_30d: number;
  /** Non-scan accesses per day since its first access was seen. */
  rate_per_day_lifetime: number;
  days_idle: number;
  age_days: number;
  scans_per_day: number;
}

/**
 * Fills `x` (length N_FEATURES) with the model's inputs for a forecast over `horizonDays`, and
 * returns the same facts in plain units. Rates are scaled to the horizon before the log so a
 * weight of 1 on one of them means "the horizon repeats that rate".
 */
export function features(s: StatsSnapshot, now: number, horizonDays: number, x: Float64Array): FeatureView {
  const perDay = (sum: number, hl: number): number =>
    s.decayAt > 0 ? ratePerHour(decayTo({ at: s.decayAt, value: sum }, now, hl), hl) * 24 : 0;
  const r1h = perDay(s.decay1h, HALF_LIVES['1h']);
  const r1d = perDay(s.decay1d, HALF_LIVES['1d']);
  const r1w = perDay(s.decay1w, HALF_LIVES['1w']);
  const r30 = perDay(s.decay30d, HALF_LIVES['30d']);
  const ageDays = Math.max(0, (now - s.createdAt) / DAY);
  const warm = Math.max(0, s.reads + s.writes - s.scans);
  // Over the time the statistics have seen it: a dataset older than its history (imported, or
  // older than the product) is not diluted by the years nobody was counting.
  const seenDays = s.firstAccess === null ? ageDays : Math.max(0, (now - s.firstAccess) / DAY);
  const lifetime = warm / Math.max(1, seenDays);
  const idle = s.decayAt > 0 ? Math.max(0, (now - s.decayAt) / DAY) : ageDays;
  const observedDays = s.firstAccess === null ? 1 : Math.max(1, (now - Math.min(s.firstAccess, s.createdAt)) / DAY);
  x[0] = 1;
  x[1] = Math.log1p(r1h * horizonDays);
  x[2] = Math.log1p(r1d * horizonDays);
  x[3] = Math.log1p(r1w * horizonDays);
  x[4] = Math.log1p(r30 * horizonDays);
  x[5] = Math.log1p(lifetime * horizonDays);
  x[6] = Math.log1p(idle);
  x[7] = Math.log1p(ageDays);
  return {
    rate_per_day_1h: r1h,
    rate_per_day_1d: r1d,
    rate_per_day_1w: r1w,
    rate_per_day_30d: r30,
    rate_per_day_lifetime: lifetime,
    days_idle: idle,
    age_days: ageDays,
    scans_per_day: s.scans / observedDays,
  };
}
