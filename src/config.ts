import path from 'node:path';
import dotenv from 'dotenv';
import { ConfigError, Reader, type Env } from './config-reader';
import { storesConfig } from './config-stores';
import type { StoreSpecs } from './storage';
import type { LogLevel } from './platform';
import type { KafkaConfig } from './stream';

export type { KafkaConfig, LogLevel };
export { ConfigError };

/**
 * Everything the process reads from its environment, validated once at start.
 * A bad value throws ConfigError naming the variable; main() prints it and exits.
 */
export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly databasePath: string;
  /** DATABASE_URL: PostgreSQL shared by every instance; undefined: the SQLite file at databasePath. */
  readonly databaseUrl: string | undefined;
  /** DATABASE_POOL_SIZE: PostgreSQL connections per instance. */
  readonly databasePoolSize: number;
  /** Bootstrap admin key for write routes; undefined means "generate one into the data dir". */
  readonly apiKey: string | undefined;
  readonly baseUrl: string;
  readonly logLevel: LogLevel;
  readonly sqliteSynchronous: 'FULL' | 'NORMAL';
  readonly ingest: {
    /** Largest accepted request body, in bytes. */
    readonly maxBodyBytes: number;
    /** Largest number of events in one request. */
    readonly maxBatchEvents: number;
    /** How far in the future an event's ts may lie (clock skew allowance), ms. */
    readonly maxFutureSkewMs: number;
  };
  readonly kafka: KafkaConfig | undefined;
  readonly embedded: {
    /** Events kept in the embedded log after they are applied, for replay. */
    readonly retentionMs: number;
  };
  readonly consumer: {
    /** Most events applied in one SQLite transaction. */
    readonly maxBatchEvents: number;
  };
  readonly stats: {
    readonly minuteRetentionMs: number;
    readonly hourRetentionMs: number;
    readonly dayRetentionMs: number;
    /** How long an event id is remembered for de-duplication. */
    readonly idempotencyWindowMs: number;
    /** How often old buckets, event ids and log entries are pruned. */
    readonly pruneIntervalMs: number;
    /** How often closed minute buckets are rolled up into hour and day buckets. */
    readonly rollupIntervalMs: number;
  };
  readonly storage: {
    /** Master key material (Fernet, hex or base64 of 32 bytes); undefined: ENCRYPTION_KEY_FILE or a generated key file. */
    readonly encryptionKey: string | undefined;
    readonly encryptionKeyFile: string | undefined;
    /** The master a rotation re-wraps away from: set with the new key as ENCRYPTION_KEY until it finishes. */
    readonly previousKey: string | undefined;
    readonly previousKeyFile: string | undefined;
    readonly chunkSize: number;
    readonly moveConcurrency: number;
    /** Total bytes/s for all moves together; 0 = unlimited. */
    readonly moveBandwidth: number;
    /** Test-only fault points (see storage/faults.ts). */
    readonly faultPause: string | undefined;
    /** Scrub every stored object on a timer (POST /api/scrub works either way). */
    readonly scrubEnabled: boolean;
    readonly scrubIntervalMs: number;
    /** The scrub's read budget in bytes/s; 0 = unlimited. */
    readonly scrubBandwidth: number;
    /** BACKUP_DIR: where database backups are written; undefined: DATA_DIR/backups. */
    readonly backupDir: string | undefined;
    /** BACKUP_INTERVAL, BACKUP_KEEP: scheduled backups, only when BACKUP_DIR is set. */
    readonly backupIntervalMs: number;
    readonly backupKeep: number;
    /** STORE_<LOCATION> and companions: each location's file folder or S3 bucket (config-stores.ts). */
    readonly stores: StoreSpecs;
  };
  readonly tiering: {
    /** Run the scheduler on a timer (POST /api/scheduler/run works either way). */
    readonly schedulerEnabled: boolean;
    readonly schedulerIntervalMs: number;
    /** A price catalog file (JSON, partial allowed) used as the first catalog version. */
    readonly pricesFile: string | undefined;
    readonly horizonDays: number;
    readonly hysteresis: number;
    readonly minSavingPerMonth: number;
    readonly cooldownMs: number;
    /** null: no latency rule unless a dataset sets one. */
    readonly maxLatencyMs: number | null;
    readonly budgetBytes: number;
    readonly budgetMoves: number;
    /** Forecasts sampled per run to train and measure the model. */
    readonly observationsPerRun: number;
    /** No move to cheaper storage until the model has learnt from this many matured forecasts. */
    readonly minModelUpdates: number;
    /** Extra weight on forecast use where access is dearer (see TieringPolicy.decide). */
    readonly demotionRisk: number;
    /** HISTORY_SNAPSHOT_HOUR: the wall-clock hour (UTC) of the daily cost snapshot. */
    readonly historySnapshotHour: number;
  };
  readonly shutdownTimeoutMs: number;
  readonly http: {
    /** A client must have sent a request's whole head within this time, or it gets 408. */
    readonly headersTimeoutMs: number;
    /**
     * A request whose body stops arriving, or a response the client stops reading, for this long
     * is ended (408 if nothing was answered yet). Idle time, not total time: a large upload over
     * a slow but steady link is never cut off.
     */
    readonly idleTimeoutMs: number;
  };
  /** Reads of the JSON API without a key (the original demo's read routes had none). */
  readonly publicRead: boolean;
  readonly alerts: {
    /** ALERT_WEBHOOK_URL: alert openings and closings are POSTed here as JSON; undefined: none. */
    readonly webhookUrl: string | undefined;
    /** ALERT_LAG_EVENTS: consumer lag above this many events opens an alert. */
    readonly lagEvents: number;
    /** ALERT_CHECK_INTERVAL: how often the conditions are checked. */
    readonly checkIntervalMs: number;
    /** ALERT_RETENTION: closed alerts are deleted this long after they closed. */
    readonly retentionMs: number;
    /** ALERT_MAX_ROWS: past this many alerts, the oldest closed ones are deleted. */
    readonly maxRows: number;
  };
  /** Write requests per second per API key or page user (0: no limit), and the burst allowed. */
  readonly rateLimit: { readonly perSecond: number; readonly burst: number };
  readonly session: {
    /** Key that signs page sessions (JWT, HS256); undefined: generated into DATA_DIR/session.key (0600). */
    readonly secret: string | undefined;
    /** How long a login lasts. */
    readonly ttlMs: number;
  };
  /** Short-lived JWTs for API clients (POST /api/tokens): default and longest lifetime. */
  readonly apiTokens: { readonly ttlMs: number; readonly maxTtlMs: number };
  /** One `http.request` log line per answered request at this level (`off`: none). */
  readonly accessLog: 'off' | 'debug' | 'info';
  readonly cluster: ClusterConfig;
}

/** Several instances on one database (issue 14). */
export interface ClusterConfig {
  /** INSTANCE_ID: this instance's name in leases and move claims; undefined: hostname-pid-random. */
  readonly instanceId: string | undefined;
  /** LEASE_TTL: the scheduler's lease lapses this long after its holder stops renewing it (renewed every third). */
  readonly leaseTtlMs: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Loads `.env` (without overriding the real environment) and validates. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  if (env === process.env) dotenv.config({ path: path.join(cwd, '.env'), quiet: true });
  return parseConfig(env, cwd);
}

export function parseConfig(env: Env, cwd = process.cwd()): Config {
  const r = new Reader(env);
  const dataDir = path.resolve(cwd, r.str('DATA_DIR', './data'));
  const port = r.int('PORT', 8000, 0, 65535);
  const bootstrap = r.optStr('KAFKA_BOOTSTRAP');
  const config: Config = {
    port,
    host: r.str('HOST', '0.0.0.0'),
    dataDir,
    databasePath: path.resolve(dataDir, r.str('DATABASE_PATH', 'data-in-motion.sqlite')),
    databaseUrl: r.optPostgresUrl('DATABASE_URL'),
    databasePoolSize: r.int('DATABASE_POOL_SIZE', 10, 1, 1_000),
    apiKey: r.optSecret('API_KEY', 8),
    baseUrl: r.url('BASE_URL', `http://localhost:${port}`),
    logLevel: r.oneOf('LOG_LEVEL', ['debug', 'info', 'warn', 'error', 'silent'] as const, 'info'),
    sqliteSynchronous: r.oneOf('SQLITE_SYNCHRONOUS', ['FULL', 'NORMAL'] as const, 'FULL'),
    ingest: {
      maxBodyBytes: r.bytes('INGEST_MAX_BODY', 16 * 1024 * 1024),
      maxBatchEvents: r.int('INGEST_MAX_BATCH', 50_000, 1, 1_000_000),
      maxFutureSkewMs: r.int('INGEST_MAX_FUTURE_SKEW_MS', 5 * 60_000, 0, 7 * DAY),
    },
    kafka: bootstrap ? kafkaConfig(r, bootstrap) : undefined,
    embedded: {
      retentionMs: r.duration('EMBEDDED_LOG_RETENTION', 7 * DAY),
    },
    consumer: {
      maxBatchEvents: r.int('CONSUMER_MAX_BATCH', 5_000, 1, 100_000),
    },
    stats: {
      minuteRetentionMs: r.duration('STATS_MINUTE_RETENTION', 2 * DAY),
      hourRetentionMs: r.duration('STATS_HOUR_RETENTION', 90 * DAY),
      dayRetentionMs: r.duration('STATS_DAY_RETENTION', 3 * 365 * DAY),
      idempotencyWindowMs: r.duration('IDEMPOTENCY_WINDOW', 7 * DAY),
      pruneIntervalMs: r.duration('PRUNE_INTERVAL', 10 * 60_000),
      rollupIntervalMs: r.duration('ROLLUP_INTERVAL', 30_000),
    },
    storage: storageConfig(r),
    tiering: tieringConfig(r),
    shutdownTimeoutMs: r.duration('SHUTDOWN_TIMEOUT', 30_000),
    http: {
      headersTimeoutMs: r.duration('HEADERS_TIMEOUT', 60_000),
      idleTimeoutMs: r.duration('REQUEST_IDLE_TIMEOUT', 60_000),
    },
    publicRead: r.bool('PUBLIC_READ', true),
    alerts: {
      webhookUrl: webhookUrl(r.optStr('ALERT_WEBHOOK_URL')),
      lagEvents: r.int('ALERT_LAG_EVENTS', 10_000, 0, 1_000_000_000),
      checkIntervalMs: r.duration('ALERT_CHECK_INTERVAL', 15_000),
      retentionMs: r.duration('ALERT_RETENTION', 90 * DAY),
      maxRows: r.int('ALERT_MAX_ROWS', 10_000, 100, 10_000_000),
    },
    rateLimit: {
      perSecond: r.int('RATE_LIMIT', 10_000, 0, 10_000_000),
      burst: r.int('RATE_LIMIT_BURST', 20_000, 1, 100_000_000),
    },
    session: {
      secret: r.optSecret('SESSION_SECRET', 32),
      ttlMs: r.duration('SESSION_TTL', 12 * HOUR),
    },
    apiTokens: {
      ttlMs: r.duration('API_TOKEN_TTL', 15 * 60_000),
      maxTtlMs: r.duration('API_TOKEN_MAX_TTL', HOUR),
    },
    accessLog: r.oneOf('ACCESS_LOG', ['off', 'debug', 'info'] as const, 'debug'),
    cluster: clusterConfig(r),
  };
  checkRanges(config);
  checkSharedStores(config);
  return Object.freeze(config);
}

function kafkaConfig(r: Reader, bootstrap: string): KafkaConfig {
  return {
    bootstrap,
    topic: r.topic('KAFKA_TOPIC', 'dataset-events'),
    groupId: r.str('KAFKA_GROUP_ID', 'data-in-motion'),
    partitions: r.int('KAFKA_PARTITIONS', 6, 1, 10_000),
    replicationFactor: r.int('KAFKA_REPLICATION_FACTOR', 1, 1, 100),
    groupProtocol: r.oneOf('KAFKA_GROUP_PROTOCOL', ['classic', 'consumer'] as const, 'consumer'),
    clientId: r.str('KAFKA_CLIENT_ID', 'data-in-motion'),
    deliveryTimeoutMs: r.int('KAFKA_DELIVERY_TIMEOUT_MS', 10_000, 1_000, 600_000),
    adminTimeoutMs: r.int('KAFKA_ADMIN_TIMEOUT_MS', 10_000, 100, 600_000),
    extra: r.keyValues('KAFKA_EXTRA_CONFIG'),
  };
}

function storageConfig(r: Reader): Config['storage'] {
  return {
    encryptionKey: r.optSecret('ENCRYPTION_KEY', 32),
    encryptionKeyFile: r.optStr('ENCRYPTION_KEY_FILE'),
    previousKey: r.optSecret('ENCRYPTION_KEY_PREVIOUS', 32),
    previousKeyFile: r.optStr('ENCRYPTION_KEY_PREVIOUS_FILE'),
    chunkSize: r.bytes('STORAGE_CHUNK_SIZE', 1024 * 1024),
    moveConcurrency: r.int('MOVE_CONCURRENCY', 2, 1, 64),
    moveBandwidth: r.bytesOrZero('MOVE_BANDWIDTH', 0),
    faultPause: r.optStr('DIM_FAULT_PAUSE'),
    scrubEnabled: r.bool('SCRUB_ENABLED', true),
    scrubIntervalMs: r.duration('SCRUB_INTERVAL', 24 * 3_600_000),
    scrubBandwidth: r.bytesOrZero('SCRUB_BANDWIDTH', 32 * 1024 * 1024),
    backupDir: r.optStr('BACKUP_DIR'),
    backupIntervalMs: r.duration('BACKUP_INTERVAL', 24 * 3_600_000),
    backupKeep: r.int('BACKUP_KEEP', 7, 1, 10_000),
    stores: storesConfig(r),
  };
}

function tieringConfig(r: Reader): Config['tiering'] {
  return {
    schedulerEnabled: r.bool('SCHEDULER_ENABLED', true),
    schedulerIntervalMs: r.duration('SCHEDULER_INTERVAL', 5 * 60_000),
    pricesFile: r.optStr('PRICES_FILE'),
    horizonDays: r.int('POLICY_HORIZON_DAYS', 30, 1, 365),
    hysteresis: r.number('POLICY_HYSTERESIS', 2, 0, 100),
    minSavingPerMonth: r.number('POLICY_MIN_SAVING', 0.001, 0, 1e9),
    cooldownMs: r.duration('POLICY_COOLDOWN', DAY),
    maxLatencyMs: r.optNumber('POLICY_MAX_LATENCY_MS', 1_000, 0, 86_400_000),
    budgetBytes: r.bytesOrZero('SCHEDULER_BUDGET_BYTES', 10 * 1024 ** 4),
    budgetMoves: r.int('SCHEDULER_BUDGET_MOVES', 10_000, 0, 10_000_000),
    observationsPerRun: r.int('FORECAST_SAMPLE', 500, 0, 100_000),
    minModelUpdates: r.int('POLICY_MIN_MODEL_UPDATES', 1_000, 0, 100_000_000),
    demotionRisk: r.number('POLICY_DEMOTION_RISK', 2, 0, 100),
    historySnapshotHour: r.int('HISTORY_SNAPSHOT_HOUR', 0, 0, 23),
  };
}

function webhookUrl(v: string | undefined): string | undefined {
  if (v === undefined || v === '') return undefined;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new ConfigError('ALERT_WEBHOOK_URL', 'must be an http:// or https:// URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new ConfigError('ALERT_WEBHOOK_URL', 'must be an http:// or https:// URL');
  return v;
}

function clusterConfig(r: Reader): ClusterConfig {
  const ttl = r.duration('LEASE_TTL', 15_000);
  if (ttl < 1_000 || ttl > 10 * 60_000) throw new ConfigError('LEASE_TTL', 'must be between 1s and 10m');
  return {
    instanceId: r.optStr('INSTANCE_ID'),
    leaseTtlMs: ttl,
  };
}

/**
 * With PostgreSQL, several instances may run: each location's store must be one they all reach,
 * or a move done by one would leave the others pointing at bytes they cannot read.
 */
function checkSharedStores(config: Config): void {
  if (!config.databaseUrl) return;
  // An S3 store is reachable from every instance by nature; a file store when declared on a shared mount.
  for (const [location, store] of Object.entries(config.storage.stores)) {
    if (store.shared) continue;
    throw new ConfigError(
      `STORE_${location}_SHARED`,
      `with DATABASE_URL several instances may run, so the ${location} store must be reachable from all of them: ` +
        `set STORE_${location}=s3://bucket/prefix, or put its folder on a mount every instance shares and set ` +
        `STORE_${location}_SHARED=true`,
    );
  }
}

/** Limits that span a value's range or two variables. */
function checkRanges(config: Config): void {
  if (config.storage.chunkSize < 4096 || config.storage.chunkSize > 16 * 1024 * 1024) {
    throw new ConfigError('STORAGE_CHUNK_SIZE', 'must be between 4kb and 16mb');
  }
  if (config.session.ttlMs < 60_000 || config.session.ttlMs > 30 * DAY) {
    throw new ConfigError('SESSION_TTL', 'must be between 1m and 30d');
  }
  if (config.apiTokens.maxTtlMs < 60_000 || config.apiTokens.maxTtlMs > DAY) {
    throw new ConfigError('API_TOKEN_MAX_TTL', 'must be between 1m and 1d');
  }
  if (config.apiTokens.ttlMs < 60_000 || config.apiTokens.ttlMs > config.apiTokens.maxTtlMs) {
    throw new ConfigError('API_TOKEN_TTL', 'must be between 1m and API_TOKEN_MAX_TTL');
  }
  if (config.alerts.checkIntervalMs < 100 || config.alerts.checkIntervalMs > HOUR)
    throw new ConfigError('ALERT_CHECK_INTERVAL', 'must be between 100ms and 1h');
  if (config.alerts.retentionMs < HOUR || config.alerts.retentionMs > 3650 * DAY)
    throw new ConfigError('ALERT_RETENTION', 'must be between 1h and 3650d');
  for (const [name, ms] of [
    ['HEADERS_TIMEOUT', config.http.headersTimeoutMs],
    ['REQUEST_IDLE_TIMEOUT', config.http.idleTimeoutMs],
  ] as const) {
    if (ms < 100 || ms > HOUR) throw new ConfigError(name, 'must be between 100ms and 1h');
  }
  if (config.databaseUrl && config.storage.backupDir) {
    throw new ConfigError('BACKUP_DIR', 'scheduled backups copy the SQLite database; with DATABASE_URL use pg_dump');
  }
  if (config.stats.hourRetentionMs < config.stats.minuteRetentionMs) {
    throw new ConfigError('STATS_HOUR_RETENTION', 'must be at least STATS_MINUTE_RETENTION');
  }
  if (config.stats.dayRetentionMs < config.stats.hourRetentionMs) {
    throw new ConfigError('STATS_DAY_RETENTION', 'must be at least STATS_HOUR_RETENTION');
  }
}
