/**
 * How long the product has watched a dataset, and whether that is long enough to judge it.
 *
 * A dataset's statistics begin when the product first sees it (its registration, `created_at`,
 * or an earlier first access), not when its data began. An estate registered at installation
 * brings data with readers the product has not met yet: in its first weeks a monthly report
 * read at the last close and idle since has the same statistics as a hand-off read once (issue
 * 13, fifth pass: with a model fully trained beforehand and no gate, month-end cost 1.060× the
 * best simple rule). What tells them apart is a horizon of the dataset's own statistics, not
 * more training of the fleet's model. Data written here at its registration is different: its
 * whole life is in the statistics, and the fleet's model has seen others like it.
 */
import type { StatsSnapshot } from './features';

const DAY = 86_400_000;
/** A first write this soon after registration is the data's creation, not a later update. */
const BORN_WITHIN_MS = 3_600_000;

/** Days since the dataset's statistics began: its registration or its first access, whichever came first. */
export function watchedDays(s: StatsSnapshot, now: number): number {
  const since = s.firstAccess === null ? s.createdAt : Math.min(s.createdAt, s.firstAccess);
  return Math.max(0, (now - since) / DAY);
}

/**
 * Written here when it was registered: its first access is within the hour of its registration
 * and it has writes. Its statistics cover its whole life, so no reader can have come before them.
 */
export function bornWatched(s: StatsSnapshot): boolean {
  return wasBornWatched(s.writes, s.firstAccess, s.createdAt);
}

/** bornWatched from the counts themselves (a scan's row, without building a snapshot). */
export function wasBornWatched(writes: number, firstAccess: number | null, createdAt: number): boolean {
  return writes > 0 && firstAccess !== null && firstAccess - createdAt <= BORN_WITHIN_MS;
}

/**
 * The dataset's statistics are too short to judge a demotion over `horizonDays`: it came with a
 * past the product did not see, it has been watched for less than a horizon, and it has not been
 * idle a whole one (the rule S3 Intelligent-Tiering follows, which needs no history). A reader
 * with a period up to the horizon may not have come round yet.
 */
export function historyTooShort(s: StatsSnapshot, daysIdle: number, now: number, horizonDays: number): boolean {
  return daysIdle < horizonDays && !bornWatched(s) && watchedDays(s, now) < horizonDays;
}
