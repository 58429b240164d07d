import path from 'node:path';
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
  readAllowed,
  writeAccess,
  type ApiCallers,
} from './auth';
import { leaseOf } from './app-cluster';
import type { Config } from './config';
import type { Database, Db } from './db';
import { DatabaseBackups } from './backup';
import { type Clock, KeyedLock, type Logger, type Service, serviceOf } from './platform';
import {
  Faults,
  Keyring,
  MasterRotation,
  MoveService,
  ScrubService,
  StorageRepository,
  Bandwidth,
  TierTree,
  ObjectStores,
  StoredObjects,
  storePanel,
} from './storage';
import {
  CostSnapshotJob,
  TieringMovePricing,
  TieringRepository,
  TierScheduler,
  TieringService,
  placementClasses,
} from './tiering';

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
    mayRead: readAllowed(callers, sessions, config.publicRead),
    announceFirstUser,
    services: [service, apiKeys] as Service[],
  };
}

export type StorageParts = Awaited<ReturnType<typeof buildStorage>>;

/** Keys, the tier tree and the move queue; interrupted moves are recovered before anything serves. */
export async function buildStorage(base: Base) {
  const { config, db, clock, logger, instance, exclusive } = base;
  // With other instances on the shared stores, one of them scrubs on the timer.
  const scrubLease = exclusive ? undefined : leaseOf(base, 'scrub');
  const keyring = new Keyring(
    db,
    {
      encryptionKey: config.storage.encryptionKey,
      encryptionKeyFile: config.storage.encryptionKeyFile,
      previousKey: config.storage.previousKey,
      previousKeyFile: config.storage.previousKeyFile,
      dataDir: config.dataDir,
    },
    clock,
    logger,
  );
  const faults = new Faults(config.storage.faultPause, logger);
  const stores = await ObjectStores.open(config.storage.stores, config.dataDir, logger.child({ part: 'stores' }));
  const tree = new TierTree(config.dataDir, stores.fileRoots());
  const objects = new StoredObjects({ stores, tree });
  const repo = new StorageRepository(db);
  const locks = new KeyedLock<number>();
  const moves = new MoveService({
    db,
    tree,
    objects,
    keyring,
    locks,
    bandwidth: new Bandwidth(config.storage.moveBandwidth),
    faults,
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
    objects,
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
    faults,
  });
  const masterRotation = new MasterRotation({
    db,
    repo,
    tree,
    keyring,
    locks,
    faults,
    logger: logger.child({ part: 'keys' }),
  });
  return {
    keyring,
    tree,
    stores,
    objects,
    repo,
    locks,
    moves,
    scrub,
    backups,
    masterRotation,
    faults,
    // Keys loaded and interrupted moves finished or rolled back before anything serves.
    prepare: serviceOf('storage', {
      start: async () => {
        await keyring.start();
        tree.ensure();
        await moves.recover();
      },
    }),
    scrubLease,
    /** The store panel of the overview and the moves page. */
    storePanel: () => storePanel(stores, repo),
    services: [stores, moves, ...(scrubLease ? [scrubLease] : []), scrub, backups, masterRotation] as Service[],
  };
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
    placementClasses: placementClasses(config.storage.stores),
  });
  // A move queued by hand is linked to the decision it carries out, so the pending saving counts it.
  storage.moves.priceWith(new TieringMovePricing(tiering));
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
  const costSnapshots = new CostSnapshotJob({
    history: tiering.costs,
    hourUtc: t.historySnapshotHour,
    logger: logger.child({ part: 'cost-history' }),
  });
  return {
    tiering,
    scheduler,
    lease,
    // The catalog loads before anything serves; the timer arms once the rest is up.
    prepare: tiering as Service,
    services: [lease, scheduler, costSnapshots] as Service[],
  };
}
