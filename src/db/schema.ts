import type { Generated, Insertable, Selectable } from 'kysely';

export const TIERS = ['HOT', 'WARM', 'COLD'] as const;
export const LOCATIONS = ['ONPREM', 'PRIVATE', 'PUBLIC'] as const;
export type Tier = (typeof TIERS)[number];
export type Location = (typeof LOCATIONS)[number];

/** Times are integer milliseconds since the epoch (UTC) throughout the database. */
export interface DatasetsTable {
  id: Generated<number>;
  name: string;
  description: string | null;
  /** JSON array of strings. */
  tags: string;
  /** Declared size, as the original demo's size_gb. */
  size_gb: number;
  tier: Tier;
  location: Location;
  location_uri: string | null;
  created_at: number;
  updated_at: number;
  last_storage_migration: number | null;
}

export interface DatasetStatsTable {
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
}

export interface EventIdsTable {
  id: string;
  dataset_id: number;
  seen_at: number;
}

export interface EventLogTable {
  offset: Generated<number>;
  dataset_id: number;
  payload: string;
  appended_at: number;
}

export interface ConsumerOffsetsTable {
  group_id: string;
  topic: string;
  partition: number;
  next_offset: number;
  updated_at: number;
}

export interface DeadLettersTable {
  id: Generated<number>;
  created_at: number;
  topic: string;
  partition: number;
  offset: number;
  payload: string;
  reason: string;
}

export interface BucketRollupTable {
  id: number;
  rolled_until: number;
}

export interface DB {
  bucket_rollup: BucketRollupTable;
  datasets: DatasetsTable;
  dataset_stats: DatasetStatsTable;
  access_buckets: AccessBucketsTable;
  event_ids: EventIdsTable;
  event_log: EventLogTable;
  consumer_offsets: ConsumerOffsetsTable;
  dead_letters: DeadLettersTable;
}

export type DatasetRow = Selectable<DatasetsTable>;
export type NewDataset = Insertable<DatasetsTable>;
export type DatasetStatsRow = Selectable<DatasetStatsTable>;
export type DeadLetterRow = Selectable<DeadLettersTable>;
