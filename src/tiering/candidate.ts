/** A scheduler row's size and statistics as the policy reads them. */
import type { StatsSnapshot } from './features';
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
  };
}
