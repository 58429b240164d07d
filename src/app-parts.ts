import path from 'node:path';
import {
  StatsMaintenance,
  StatsWriter,
  AnalyticsService,
  StatsRepository,
  type AnalyticsService as Analytics,
} from './analytics';
import {
  ApiKeyAuth,
  resolveApiKey,
  RateLimiter,
  ApiKeys,
  ApiKeysRepository,
  ApiTokens,
  apiTokenKey,
  resolveSessionKey,
  SessionAuth,
  UsersRepository,
  UsersService,
  type FirstUser,
  readAccess,
  writeAccess,
  type ApiCallers,
} from './auth';
import { leaseOf, soleMemberOf } from './app-cluster';
import type { Config } from './config';
import { DatasetsRepository, DatasetsService } from './datasets';
import type { Database, Db } from './db';
import { DatasetResolver, IngestService } from './ingest';
import { DatabaseBackups } from './backup';
import { type Clock, KeyedLock, type Logger, type Service, serviceOf } from './platform';
import {
  AppliedOnce,
  DeadLettersRepository,
  EmbeddedBus,
  EventIdsRepository,
  EventLogRepository,
  GapsRepository,
  StreamGaps,
  createKafkaBus,
  APPLIED_OFFSETS,
  OffsetsRepository,
  type BatchHandler,
  type EventBus,
} from './stream';
import {
  ContentService,
  StorageDatasetHooks,
  Faults,
  Keyring,
  MoveService,
  ScrubService,
  StorageRepository,
  Bandwidth,
  TierTree,
  HeaderRewrite,
} from './storage';
import { TieringRepository, TierScheduler, TieringService } from './tiering';
import { ProductMetrics } from './web';

/** What every builder below gets: the config, the open database, time and logs. */
export interface Base {
  config: Config;
  database: Database;
  db: Db;
  clock: Clock;
  logger: Logger;
  /** This instance's name in leases and move claims. */
  instance: string;
  /** No other instance can share this database (SQLite, its directory locked to this process). */
  exclusive: boolean;
  /** A set-up found unsafe after the start (a shared consumer group on SQLite): the process must stop. */
  onFatal: (err: Error) => void;
}

export type AuthParts = ReturnType<typeof buildAuth>;

/**
 * Page sign-in (users in the database, the first start creates `admin`; sessions as signed JWTs)
 * and API keys with scopes (API_KEY is the bootstrap admin key) with short-lived tokens minted
 * from them, signed with a key derived from the session key. Write routes take a key or an
 * operator's session with its CSRF token: one gate per direction.
 */
export function buildAuth({ config, db, clock, logger, exclusive }: Base) {
  const authLog = logger.child({ part: 'auth' });
  const users = new UsersService(new UsersRepository(db), clock, authLog);
  const sessionKey = resolveSessionKey(config.session.secret, config.dataDir, authLog);
  const sessions = new SessionAuth(
    users,
    sessionKey,
    { ttlMs: config.session.ttlMs, baseUrl: config.baseUrl },
    authLog,
  );
  const apiKeys = new ApiKeys(
    new ApiKeysRepository(db),
    new ApiKeyAuth(resolveApiKey(config.apiKey, config.dataDir, logger)),
    clock,
  );
  // Keys created or revoked on another instance count here within a few seconds.
  if (!exclusive) apiKeys.reloadEvery(Math.ceil(config.cluster.leaseTtlMs / 3));
  const callers: ApiCallers = {
    keys: apiKeys,
    tokens: new ApiTokens(apiTokenKey(sessionKey), apiKeys, config.apiTokens),
  };
  const limiter = new RateLimiter(config.rateLimit.perSecond, config.rateLimit.burst);
  // The first operator's password is shown only once the whole start has succeeded.
  let firstUser: FirstUser | undefined;
  const service = serviceOf('users', {
    start: async () => {
      firstUser = await users.createFirstUser();
      await users.pruneRevoked();
    },
    stop: async () => {
      if (firstUser) await users.withdrawFirstUser(firstUser);
      firstUser = undefined;
    },
  });
  const announceFirstUser = (): void => {
    if (firstUser) users.announceFirstUser(firstUser);
    firstUser = undefined;
  };
  return {
    users,
    sessions,
    apiKeys,
    callers,
    limiter,
    authLog,
    requireWrite: writeAccess(callers, sessions, limiter),
    // With PUBLIC_READ=false, reads (and /metrics) need the read scope.
    requireRead: readAccess(callers, sessions, config.publicRead),
    announceFirstUser,
    services: [service, apiKeys] as Service[],
  };
}

export type StorageParts = ReturnType<typeof buildStorage>;

/** Keys, the tier tree and the move queue; interrupted moves are recovered before anything serves. */
export function buildStorage(base: Base) {
  const { config, db, clock, logger, instance, exclusive } = base;
  // With other instances on the shared stores, one of them scrubs on the timer.
  const scrubLease = exclusive ? undefined : leaseOf(base, 'scrub');
  const keyring = new Keyring(
    db,
    {
      encryptionKey: config.storage.encryptionKey,
      encryptionKeyFile: config.storage.encryptionKeyFile,
      dataDir: config.dataDir,
    },
    clock,
    logger,
  );
  const tree = new TierTree(config.dataDir);
  const repo = new StorageRepository(db);
  const locks = new KeyedLock<number>();
  const moves = new MoveService({
    db,
    tree,
    keyring,
    locks,
    bandwidth: new Bandwidth(config.storage.moveBandwidth),
    faults: new Faults(config.storage.faultPause, logger),
    clock,
    logger: logger.child({ part: 'moves' }),
    concurrency: config.storage.moveConcurrency,
    instance,
    // Twice the scheduler lease's: a move's owner renews every few seconds while it copies.
    claimTtlMs: 2 * config.cluster.leaseTtlMs,
    exclusive,
  });
  const scrub = new ScrubService({
    repo,
    tree,
    keyring,
    bandwidth: new Bandwidth(config.storage.scrubBandwidth),
    clock,
    logger: logger.child({ part: 'scrub' }),
    enabled: config.storage.scrubEnabled,
    intervalMs: config.storage.scrubIntervalMs,
    ...(scrubLease ? { leadership: scrubLease } : {}),
  });
  const backups = new DatabaseBackups({
    db,
    dir: path.resolve(config.storage.backupDir ?? path.join(config.dataDir, 'backups')),
    clock,
    logger,
    schedule: config.storage.backupDir
      ? { intervalMs: config.storage.backupIntervalMs, keep: config.storage.backupKeep }
      : undefined,
  });
  return {
    keyring,
    tree,
    repo,
    locks,
    moves,
    scrub,
    backups,
    // Keys loaded and interrupted moves finished or rolled back before anything serves.
    prepare: serviceOf('storage', {
      start: async () => {
        await keyring.start();
        tree.ensure();
        await moves.recover();
      },
    }),
    services: [moves, ...(scrubLease ? [scrubLease] : []), scrub, backups] as Service[],
  };
}

export type StreamParts = Awaited<ReturnType<typeof buildStream>>;

/**
 * Datasets, the bus and what it feeds: ingest publishes; the exactly-once applier (stream) skips
 * what was applied, dead-letters what cannot be, and commits the statistics (analytics) with the
 * applied offsets in one transaction; maintenance rolls buckets up and prunes.
 */
export async function buildStream(base: Base, storage: StorageParts) {
  const { config, database, db, clock, logger } = base;
  const datasetsRepo = new DatasetsRepository(db);
  const resolver = new DatasetResolver(datasetsRepo);
  const datasets = new DatasetsService(datasetsRepo, clock, [
    resolver,
    new StorageDatasetHooks(storage.repo, storage.tree),
  ]);
  const retention = {
    m: config.stats.minuteRetentionMs,
    h: config.stats.hourRetentionMs,
    d: config.stats.dayRetentionMs,
  };
  const statsRepo = new StatsRepository(db);
  const analytics: Analytics = new AnalyticsService({ stats: statsRepo, datasets, clock, retention });
  // Applied offsets belong to this database, not to a consumer group: a new KAFKA_GROUP_ID
  // (or a restart under another one) must not apply events this database already holds.
  const offsets = new OffsetsRepository(db, APPLIED_OFFSETS);
  const eventIds = new EventIdsRepository(db);
  const gaps = new GapsRepository(db);
  const deadLetters = new DeadLettersRepository(db);
  const applier = new AppliedOnce({
    db,
    offsets,
    eventIds,
    deadLetters,
    gaps,
    effect: new StatsWriter({ stats: statsRepo }).effect,
    clock,
    logger,
  });
  const bus = await createBus(base, offsets, applier.handler);
  const metrics = new ProductMetrics(database.reader, bus, applier);
  storage.backups.register(metrics.registry);
  const publisher = metrics.countingPublisher(bus.publisher);
  const ingest = new IngestService(resolver, publisher, clock, config.ingest);
  const content = new ContentService({
    repo: storage.repo,
    tree: storage.tree,
    keyring: storage.keyring,
    locks: storage.locks,
    publisher,
    clock,
    logger,
    chunkSize: config.storage.chunkSize,
  });
  const headerRewrite = new HeaderRewrite({
    ...storage,
    content,
    bandwidth: new Bandwidth(config.storage.scrubBandwidth),
    logger: logger.child({ part: 'rewrite' }),
  });
  const maintenance = new StatsMaintenance({
    stats: statsRepo,
    eventIds,
    clock,
    logger,
    options: {
      buckets: retention,
      idempotencyWindowMs: config.stats.idempotencyWindowMs,
      intervalMs: config.stats.pruneIntervalMs,
      rollupIntervalMs: config.stats.rollupIntervalMs,
    },
  });
  return {
    datasets,
    resolver,
    statsRepo,
    analytics,
    bus,
    applier,
    deadLetters,
    gaps,
    streamGaps: new StreamGaps({ repo: gaps, clock, logger: logger.child({ part: 'stream' }) }),
    metrics,
    ingest,
    content,
    headerRewrite,
    maintenance,
    services: [bus, maintenance] as Service[],
  };
}

async function createBus(
  { config, db, clock, logger, exclusive, onFatal }: Base,
  offsets: OffsetsRepository,
  handler: BatchHandler,
): Promise<EventBus> {
  if (config.kafka)
    return createKafkaBus({
      config: config.kafka,
      logger: logger.child({ bus: 'kafka' }),
      offsets,
      handler,
      ...(exclusive ? { soleMember: soleMemberOf(config.kafka, onFatal) } : {}),
    });
  return new EmbeddedBus({
    log: new EventLogRepository(db),
    offsets,
    handler,
    clock,
    logger: logger.child({ bus: 'embedded' }),
    options: {
      maxBatch: config.consumer.maxBatchEvents,
      maxPending: 10 * config.ingest.maxBatchEvents,
      retentionMs: config.embedded.retentionMs,
      pruneIntervalMs: config.stats.pruneIntervalMs,
    },
  });
}

export type TieringParts = ReturnType<typeof buildTiering>;

/** The price catalog, the policy and the scheduler that hands moves to the queue. */
export function buildTiering(base: Base, storage: StorageParts) {
  const { config, database, db, clock, logger } = base;
  const t = config.tiering;
  const tiering = new TieringService({
    repo: new TieringRepository(db, database.reader),
    moves: storage.moves,
    clock,
    logger: logger.child({ part: 'tiering' }),
    defaults: {
      enabled: t.schedulerEnabled,
      intervalMs: t.schedulerIntervalMs,
      horizonDays: t.horizonDays,
      hysteresis: t.hysteresis,
      minSavingPerMonth: t.minSavingPerMonth,
      cooldownMs: t.cooldownMs,
      defaultMaxLatencyMs: t.maxLatencyMs,
      budgetBytes: t.budgetBytes === 0 ? Number.MAX_SAFE_INTEGER : t.budgetBytes,
      budgetMoves: t.budgetMoves,
      observationsPerRun: t.observationsPerRun,
      minModelUpdates: t.minModelUpdates,
      demotionRisk: t.demotionRisk,
    },
    pricesFile: t.pricesFile,
  });
  // One instance at a time runs the scheduler; started before it, so released after its last run.
  const lease = leaseOf(base, 'tier-scheduler');
  const scheduler = new TierScheduler({
    tiering,
    moves: storage.moves,
    clock,
    logger: logger.child({ part: 'scheduler' }),
    leadership: lease,
    ...(base.exclusive ? {} : { refreshEveryMs: Math.ceil(config.cluster.leaseTtlMs / 3) }),
  });
  return {
    tiering,
    scheduler,
    lease,
    // The catalog loads before anything serves; the timer arms once the rest is up.
    prepare: tiering as Service,
    services: [lease, scheduler] as Service[],
  };
}
