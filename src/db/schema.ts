import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';
import type { AccessBucketsTable, BucketRollupTable, DatasetStatsTable } from './stats-tables';

export type { AccessBucketsTable, BucketResolution, BucketRollupTable, DatasetStatsTable } from './stats-tables';

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
  /** The current encrypted copy: DATA_DIR/tiers/<location>/<tier>/<object_id>.enc; null when catalog-only. */
  object_id: string | null;
  content_bytes: number | null;
  content_sha256: string | null;
  /** The object's data key, wrapped by the KEK named in kek_id. */
  wrapped_key: Buffer | null;
  kek_id: string | null;
  content_updated_at: number | null;
  /** Set when the stored object failed verification; cleared when the content is replaced or verifies again. */
  damaged_at: number | null;
  damage: string | null;
  /** When a scrub last read the whole object and every chunk authenticated. */
  verified_at: number | null;
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

/** A stretch [from_offset, to_offset) of a partition that was gone before it was applied. */
export interface StreamGapsTable {
  id: Generated<number>;
  topic: string;
  partition: number;
  from_offset: number;
  /** Exclusive: the first offset that was there again. */
  to_offset: number;
  detected_at: number;
  acknowledged_at: number | null;
  /** Who acknowledged it (`user:NAME`). */
  acknowledged_by: string | null;
}

export const MOVE_STATES = ['planned', 'copying', 'verifying', 'switched', 'done', 'failed', 'cancelled'] as const;
export type MoveState = (typeof MOVE_STATES)[number];
export const ACTIVE_MOVE_STATES: readonly MoveState[] = ['planned', 'copying', 'verifying', 'switched'];

export interface MovesTable {
  id: Generated<number>;
  dataset_id: number;
  from_tier: Tier;
  from_location: Location;
  to_tier: Tier;
  to_location: Location;
  state: MoveState;
  /** manual | policy | pin | seed */
  reason: string;
  reason_detail: string | null;
  decision_id: number | null;
  /** 1 when the dataset had no content: the move changes the placement record only. */
  catalog_only: number;
  object_id: string | null;
  bytes_total: number;
  bytes_done: number;
  error: string | null;
  created_at: number;
  started_at: number | null;
  switched_at: number | null;
  finished_at: number | null;
  /** 'file' | 'server' | 'streamed': how the copy was made (migration 011). */
  copy: string | null;
  /** The instance that claimed the move to run it (INSTANCE_ID); null while nobody has. */
  owner: string | null;
  /** The owner's claim holds until then (renewed while it runs); past it, another instance may recover the move. */
  claimed_until: number | null;
  /** Waiting for the source's restore (migration 018): when it should be readable; null otherwise. */
  restore_ready_at: number | null;
  /** A planned move is not claimed before then (wall-clock ms): the next look at a restoring source. */
  next_check_at: number | null;
}

/** A singleton job's holder (the tier scheduler's): one instance at a time, until expires_at. */
export interface LeasesTable {
  name: string;
  holder: string;
  /** Raised on every acquisition: a holder whose token is no longer the row's has lost the lease. */
  token: number;
  acquired_at: number;
  expires_at: number;
}

export interface KeyMetaTable {
  id: number;
  master_fingerprint: string;
  created_at: number;
  /** The master a rotation started from, until every data key it wrapped is re-wrapped. */
  previous_fingerprint: ColumnType<string | null, string | null | undefined, string | null>;
}

/** Where an integrity failure was found: a download, a move's copy, or a scrub. */
export type IntegrityFinder = 'download' | 'move' | 'scrub';

export interface IntegrityFailuresTable {
  id: Generated<number>;
  dataset_id: number;
  object_id: string;
  found_by: IntegrityFinder;
  detail: string;
  request_id: string | null;
  at: number;
}

/** One scrub of every stored object. */
export interface ScrubRunsTable {
  id: Generated<number>;
  /** timer | api */
  trigger: string;
  started_at: number;
  finished_at: number | null;
  objects: Generated<number>;
  bytes: Generated<number>;
  damaged: Generated<number>;
  /** Objects that moved or were replaced while the scrub went by. */
  skipped: Generated<number>;
  error: string | null;
}

export interface KekVersionsTable {
  location: Location;
  version: number;
  created_at: number;
  /** The master that derives this version; null: the first master (its key ids carry no fingerprint). */
  master_fingerprint: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface CatalogVersionsTable {
  version: Generated<number>;
  /** JSON PriceCatalog. */
  catalog: string;
  note: string | null;
  created_at: number;
}

export interface DatasetPoliciesTable {
  dataset_id: number;
  mode: 'auto' | 'pinned' | 'never-tier';
  pin_location: Location | null;
  pin_tier: Tier | null;
  max_latency_ms: number | null;
  updated_at: number;
}

export interface DecisionsTable {
  dataset_id: number;
  run_id: number;
  made_at: number;
  action: 'stay' | 'move' | 'held';
  rule: string | null;
  from_location: Location;
  from_tier: Tier;
  to_location: Location;
  to_tier: Tier;
  forecast_accesses: number;
  cost_now_month: number;
  cost_target_month: number;
  saving_month: number;
  move_cost: number;
  break_even_days: number | null;
  catalog_version: number;
  /** JSON: forecast, features, every candidate's costs. */
  explanation: string;
}

export interface DecisionLogTable {
  id: Generated<number>;
  dataset_id: number;
  run_id: number;
  made_at: number;
  from_location: Location;
  from_tier: Tier;
  to_location: Location;
  to_tier: Tier;
  rule: string | null;
  saving_month: number;
  /** The move's own cost (0 on moves logged before it was kept). */
  move_cost: Generated<number>;
  catalog_version: number;
  explanation: string;
}

export interface SchedulerRunsTable {
  id: Generated<number>;
  trigger: string;
  started_at: number;
  finished_at: number | null;
  datasets: number;
  moves: number;
  /** JSON: held decisions counted by rule. */
  held: string;
  catalog_version: number | null;
  error: string | null;
  /** What the moves pending when the run ended save per month, net of their cost. */
  pending_saving_month: number | null;
}

export interface SettingsTable {
  key: string;
  value: string;
  updated_at: number;
}

export interface PredictorStateTable {
  id: number;
  state: string;
  updated_at: number;
}

export interface ForecastObservationsTable {
  id: Generated<number>;
  dataset_id: number;
  observed_at: number;
  due_at: number;
  /** JSON array of the model's inputs. */
  features: string;
  warm_total: number;
  predicted: number;
  seed_regression: number;
  seed_ewma: number;
  actual: number | null;
  matured_at: number | null;
}

/** One placement's storage on one day (the daily cost snapshot). */
export interface CostHistoryTable {
  /** The UTC day's start. */
  day: number;
  location: Location;
  tier: Tier;
  datasets: number;
  bytes: number;
  /** Storage per month at this placement, at the catalog of the day. */
  cost_month: number;
  /** The same bytes at the HOT tier of this location. */
  all_hot_month: number;
  catalog_version: number;
  taken_at: number;
}

export interface AlertsTable {
  id: Generated<number>;
  /** What the alert is about, stable across openings: `moves.failed`, `consumer.lag`, `check:NAME`. */
  key: string;
  severity: 'critical' | 'warning';
  title: string;
  detail: string;
  /** For event kinds: the newest event (move id, integrity failure id) it covers. */
  watermark: Generated<number>;
  opened_at: number;
  closed_at: number | null;
  acknowledged_at: number | null;
  /** `user:NAME` or `key:NAME`. */
  acknowledged_by: string | null;
}

/** A webhook post not delivered yet (migration 018); wall-clock times. */
export interface AlertOutboxTable {
  id: Generated<number>;
  /** The JSON body, as posted. */
  body: string;
  created_at: number;
  attempts: Generated<number>;
  /** Not tried again before this. */
  next_at: number;
  last_error: string | null;
}

export interface ApiKeysTable {
  id: Generated<number>;
  name: string;
  secret_sha256: string;
  /** JSON array of scopes. */
  scopes: string;
  created_at: number;
  revoked_at: number | null;
  /** Written in batches (ApiKeys.flush), so it may trail the in-memory value by a minute. */
  last_used_at: number | null;
}

export interface DB {
  api_keys: ApiKeysTable;
  catalog_versions: CatalogVersionsTable;
  dataset_policies: DatasetPoliciesTable;
  decisions: DecisionsTable;
  decision_log: DecisionLogTable;
  scheduler_runs: SchedulerRunsTable;
  settings: SettingsTable;
  predictor_state: PredictorStateTable;
  forecast_observations: ForecastObservationsTable;
  moves: MovesTable;
  key_meta: KeyMetaTable;
  kek_versions: KekVersionsTable;
  integrity_failures: IntegrityFailuresTable;
  scrub_runs: ScrubRunsTable;
  bucket_rollup: BucketRollupTable;
  datasets: DatasetsTable;
  dataset_stats: DatasetStatsTable;
  access_buckets: AccessBucketsTable;
  event_ids: EventIdsTable;
  event_log: EventLogTable;
  consumer_offsets: ConsumerOffsetsTable;
  dead_letters: DeadLettersTable;
  stream_gaps: StreamGapsTable;
  cost_history: CostHistoryTable;
  alerts: AlertsTable;
  alert_outbox: AlertOutboxTable;
  leases: LeasesTable;
}

export type DatasetRow = Selectable<DatasetsTable>;
export type NewDataset = Insertable<DatasetsTable>;
export type DatasetStatsRow = Selectable<DatasetStatsTable>;
export type DeadLetterRow = Selectable<DeadLettersTable>;
export type MoveRow = Selectable<MovesTable>;
