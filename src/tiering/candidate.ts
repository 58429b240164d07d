/** A scheduler row's size and statistics as the policy reads them. */
import type { StatsSnapshot } from './features';
import { PERIODIC_MIN_READS } from './periodic';
import type { CandidateRow } from './scan-repository';

const GB = 1024 ** 3;

export function sizeBytesOf(row: { content_bytes: number | null; size_gb: number }): number {
  return row.content_bytes ?? row.size_gb * GB;
}

export function snapshotOf(row: CandidateRow): StatsSnapshot {
  return {
    createdAt: row.created_at,
    sizeBytes: sizeBytesOf(row),
    reads: row.reads ?? 0,
    writes: row.writes ?? 0,
    scans: row.scans ?? 0,
    bytesRead: row.bytes_read ?? 0,
    decayAt: row.decay_at ?? 0,
    decay1h: row.decay_1h ?? 0,
    decay1d: row.decay_1d ?? 0,
    decay1w: row.decay_1w ?? 0,
    decay30d: row.decay_30d ?? 0,
    firstAccess: row.first_access,
    // Only a dataset with bursts of large reads can be timed (timedLargeReads): no object for the rest.
    large: !row.large_bursts
      ? undefined
      : {
          reads: row.large_reads ?? 0,
          bytes: row.large_bytes ?? 0,
          bursts: row.large_bursts ?? 0,
          first: row.large_first,
          last: row.large_last,
          gapSq: row.large_gap_sq ?? 0,
        },
    // Only a dataset with reads enough can be timed by its read phases (readWindows): the same.
    phases:
      (row.phase_reads ?? 0) < PERIODIC_MIN_READS
        ? undefined
        : {
            reads: row.phase_reads ?? 0,
            monthCos: row.phase_month_cos ?? 0,
            monthSin: row.phase_month_sin ?? 0,
            weekCos: row.phase_week_cos ?? 0,
            weekSin: row.phase_week_sin ?? 0,
            month2Cos: row.phase_month2_cos ?? 0,
            month2Sin: row.phase_month2_sin ?? 0,
            week2Cos: row.phase_week2_cos ?? 0,
            week2Sin: row.phase_week2_sin ?? 0,
          },
  };
}
