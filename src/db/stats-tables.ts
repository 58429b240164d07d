import type { Generated } from 'kysely';
import type { LargeReadColumns } from './large-read-columns';
import type { ReadPhaseColumns } from './read-phase-columns';

/** The access statistics' tables: per-dataset totals, time buckets, and the roll-up's watermark. */

export interface DatasetStatsTable extends LargeReadColumns, ReadPhaseColumns {
  dataset_id: number;
  reads: number;
  writes: number;
  /** Events flagged as full sequential scans (backups, antivirus); also counted in reads/writes. */
  scans: number;
  bytes_read: number;
  bytes_written: number;
  first_access: number | null;
  last_access: number | null;
  /** Reference time of the decayed sums below. */
  decay_at: number;
  /** Exponentially decayed access counts (scans excluded) at half-lives of 1 hour, 1 day, 1 week. */
  decay_1h: number;
  decay_1d: number;
  decay_1w: number;
  decay_30d: number;
}

export type BucketResolution = 'm' | 'h' | 'd';

export interface AccessBucketsTable {
  dataset_id: number;
  res: BucketResolution;
  bucket_start: number;
  reads: number;
  writes: number;
  scans: number;
  bytes: number;
  /** Reads that were not scans: the roll-up places them in their periods (src/analytics/read-phases.ts; migration 024). */
  user_reads: Generated<number>;
}

export interface BucketRollupTable {
  id: number;
  rolled_until: number;
}
