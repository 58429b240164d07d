import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { StatsMaintenance, StatsWriter, analyticsRoutes, AnalyticsService, StatsRepository } from './analytics';
import {
  ApiKeyAuth,
  resolveApiKey,
  RateLimiter,
  ApiKeys,
  ApiTokens,
  apiTokenKey,
  authRoutes,
  resolveSessionKey,
  SessionAuth,
  UsersRepository,
  UsersService,
  readAccess,
  writeAccess,
  type ApiCallers,
} from './auth';
import type { Config } from './config';
import { DatasetsRepository, datasetRoutes, DatasetsService } from './datasets';
import { Database } from './db';
import { DatasetResolver, ingestRoutes, IngestService } from './ingest';
import { systemClock, type Clock, KeyedLock, createLogger, logsAt, type Logger, requestIds } from './platform';
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
  streamRoutes,
  type BatchHandler,
  type EventBus,
} from './stream';
import {
  ContentService,
  StorageDatasetHooks,
  Faults,
  Keyring,
  MoveService,
  StorageRepository,
  storageRoutes,
  uploadRoutes,
  Bandwidth,
  TierTree,
} from './storage';
import { TieringRepository, tieringRoutes, TierScheduler, TieringService } from './tiering';
import {
  errorHandler,
  notFound,
  healthRoutes,
  createHttpServer,
  PagesRepository,
  pageRoutes,
  ProductMetrics,
} from './web';

export interface AppDeps {
  logger?: Logger;
  clock?: Clock;
}

/**
 * The composition root: builds every part from the config, starts them in order and stops
 * them in reverse. It never exits the process; main.ts does.
 */
export class App {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly database: Database;
  private parts: Parts | undefined;
  private server: http.Server | undefined;
  private stopping = false;
  private stopped: Promise<void> | undefined;

  constructor(config: Config, deps: AppDeps = {}) {
    this.config = config;
    this.logger = deps.logger ?? createLogger(config.logLevel);
    this.clock = deps.clock ?? systemClock;
    this.database = new Database({
      path: config.databasePath,
      synchronous: config.sqliteSynchronous,
      logger: this.logger,
    });
  }

  /** The Express app, for in-process tests (supertest) once start() has resolved. */
  get http(): express.Express {
    if (!this.parts) throw new Error('app not started');
    return this.parts.express;
  }

  get bus(): EventBus {
    if (!this.parts) throw new Error('app not started');
    return this.parts.bus;
  }

  get applier(): AppliedOnce {
    if (!this.parts) throw new Error('app not started');
    return this.parts.applier;
  }

  get scheduler(): TierScheduler {
    if (!this.parts) throw new Error('app not started');
    return this.parts.scheduler;
  }

  get tiering(): TieringService {
    if (!this.parts) throw new Error('app not started');
    return this.parts.tiering;
  }

  /** The pages' users (tests add viewers here). */
  get users(): UsersService {
    if (!this.parts) throw new Error('app not started');
    return this.parts.users;
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? this.config.port;
  }

  async start({ listen = true }: { listen?: boolean } = {}): Promise<void> {
    const { config, logger, clock } = this;
    await this.database.start();
    const db = this.database.db;
    const apiKey = resolveApiKey(config.apiKey, config.dataDir, logger);
    const auth = new ApiKeyAuth(apiKey);
    // Page sign-in: users in SQLite (the first start creates `admin`), sessions as signed JWTs.
    // Write routes take the API key or an operator's session with its CSRF token: one gate.
    const authLog = logger.child({ part: 'auth' });
    const users = new UsersService(new UsersRepository(db), clock, authLog);
    await users.ensureFirstUser();
    await users.pruneRevoked();
    const sessionKey = resolveSessionKey(config.session.secret, config.dataDir, authLog);
    const sessions = new SessionAuth(
      users,
      sessionKey,
      { ttlMs: config.session.ttlMs, baseUrl: config.baseUrl },
      authLog,
    );
    // API keys with scopes (API_KEY is the bootstrap admin key) and short-lived tokens minted
    // from them (signed with a key derived from the session key), checked by one gate per direction.
    const apiKeys = new ApiKeys(db, auth, clock);
    await apiKeys.start();
    const callers: ApiCallers = {
      keys: apiKeys,
      tokens: new ApiTokens(apiTokenKey(sessionKey), apiKeys, config.apiTokens),
    };
    const limiter = new RateLimiter(config.rateLimit.perSecond, config.rateLimit.burst);
    const requireWrite = writeAccess(callers, sessions, limiter);

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
    await keyring.start();
    const tree = new TierTree(config.dataDir);
    tree.ensure();
    const storageRepo = new StorageRepository(db);
    const locks = new KeyedLock<number>();
    const moves = new MoveService(
      db,
      tree,
      keyring,
      locks,
      new Bandwidth(config.storage.moveBandwidth),
      new Faults(config.storage.faultPause, logger),
      clock,
      logger.child({ part: 'moves' }),
      config.storage.moveConcurrency,
    );
    await moves.recover();

    const datasetsRepo = new DatasetsRepository(db);
    const resolver = new DatasetResolver(datasetsRepo);
    const datasets = new DatasetsService(datasetsRepo, clock, [resolver, new StorageDatasetHooks(storageRepo, tree)]);
    const statsRepo = new StatsRepository(db);
    const retention = {
      m: config.stats.minuteRetentionMs,
      h: config.stats.hourRetentionMs,
      d: config.stats.dayRetentionMs,
    };
    const analytics = new AnalyticsService({ stats: statsRepo, datasets, clock, retention });
    // Applied offsets belong to this database, not to a consumer group: a new KAFKA_GROUP_ID
    // (or a restart under another one) must not apply events this database already holds.
    const offsets = new OffsetsRepository(db, APPLIED_OFFSETS);
    const eventIds = new EventIdsRepository(db);
    const gaps = new GapsRepository(db);
    const deadLetters = new DeadLettersRepository(db);
    const statsWriter = new StatsWriter({ stats: statsRepo });
    const applier = new AppliedOnce({
      db,
      offsets,
      eventIds,
      deadLetters,
      gaps,
      effect: statsWriter.effect,
      clock,
      logger,
    });
    const bus = await this.createBus(offsets, applier.handler);
    const metrics = new ProductMetrics(this.database.reader, bus, applier);
    const publisher = metrics.countingPublisher(bus.publisher);
    const ingest = new IngestService(resolver, publisher, clock, config.ingest);
    const content = new ContentService(
      storageRepo,
      tree,
      keyring,
      locks,
      publisher,
      clock,
      logger,
      config.storage.chunkSize,
    );
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

    const t = config.tiering;
    const tiering = new TieringService(
      new TieringRepository(db, this.database.reader),
      moves,
      clock,
      logger.child({ part: 'tiering' }),
      {
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
      t.pricesFile,
    );
    await tiering.start();
    const scheduler = new TierScheduler(tiering, moves, clock, logger.child({ part: 'scheduler' }));

    const app = express();
    app.disable('x-powered-by');
    app.set('query parser', 'simple');
    // Once stopping: requests already running finish; new ones (on kept-alive connections) are
    // refused with 503 so clients retry elsewhere, and every answer closes its connection.
    app.use((_req, res, next) => {
      if (!this.stopping) return next();
      res.setHeader('Connection', 'close');
      res.setHeader('Retry-After', '5');
      res.status(503).json({ detail: 'shutting down: nothing was accepted, retry shortly' });
    });
    app.use(
      requestIds(
        config.accessLog !== 'off' && logsAt(config.logLevel, config.accessLog)
          ? { logger, level: config.accessLog }
          : undefined,
      ),
    );
    app.use(metrics.httpTimer());
    app.use(healthRoutes(this.database, bus, () => this.stopping));
    // With PUBLIC_READ=false, /metrics needs the read scope like the API (a scraper sends Bearer).
    const requireRead = readAccess(callers, sessions, config.publicRead);
    app.use('/metrics', requireRead);
    app.use(metrics.routes());
    app.use('/api', requireRead);
    app.use(ingestRoutes(ingest, requireWrite, config.ingest.maxBodyBytes));
    app.use(uploadRoutes({ content, datasets, requireWrite }));
    app.use('/api', express.json({ limit: '1mb' }));
    app.use(authRoutes({ callers, requireWrite, limiter, logger: authLog }));
    app.use(storageRoutes({ content, moves, repo: storageRepo, datasets, keyring, requireWrite }));
    app.use(tieringRoutes({ tiering, scheduler, datasetExists: (id) => datasets.get(id), requireWrite }));
    app.use(datasetRoutes(datasets, requireWrite));
    app.use(analyticsRoutes(analytics));
    app.use(streamRoutes({ bus, deadLetters, gaps }));
    app.use(
      pageRoutes({
        sessions,
        users,
        apiKeys,
        datasets,
        analytics,
        ingest,
        moves,
        tiering,
        scheduler,
        bus,
        gaps: new StreamGaps({ repo: gaps, clock, logger: logger.child({ part: 'stream' }) }),
        eventRate: metrics.appliedRate,
        repo: new PagesRepository(this.database.reader),
        clock,
        logger: logger.child({ part: 'pages' }),
      }),
    );
    app.use(notFound);
    app.use(errorHandler(logger));

    this.parts = { express: app, bus, applier, maintenance, moves, scheduler, tiering, users };
    await bus.start();
    await maintenance.start();
    if (listen) await this.listen(app);
    await moves.start();
    await scheduler.start();
    logger.info('app.started', { port: this.port, bus: bus.kind, data_dir: config.dataDir });
  }

  private async createBus(offsets: OffsetsRepository, handler: BatchHandler): Promise<EventBus> {
    const { config } = this;
    if (config.kafka) {
      // Loaded only when configured: the native client is not needed on the embedded default.
      return createKafkaBus({ config: config.kafka, logger: this.logger.child({ bus: 'kafka' }), offsets, handler });
    }
    return new EmbeddedBus({
      log: new EventLogRepository(this.database.db),
      offsets,
      handler,
      clock: this.clock,
      logger: this.logger.child({ bus: 'embedded' }),
      options: {
        maxBatch: config.consumer.maxBatchEvents,
        maxPending: 10 * config.ingest.maxBatchEvents,
        retentionMs: config.embedded.retentionMs,
        pruneIntervalMs: config.stats.pruneIntervalMs,
      },
    });
  }

  private listen(app: express.Express): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = createHttpServer(app, this.config.http, this.logger.child({ part: 'http' }));
      server.keepAliveTimeout = 65_000;
      server.once('error', reject);
      server.listen(this.config.port, this.config.host, () => {
        server.off('error', reject);
        this.server = server;
        resolve();
      });
    });
  }

  /** Reverse order, each step best-effort; safe to call more than once. */
  stop(): Promise<void> {
    this.stopped ??= this.doStop();
    return this.stopped;
  }

  private async doStop(): Promise<void> {
    this.stopping = true;
    const step = async (name: string, fn: () => Promise<void>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        this.logger.error('app.stop_step_failed', { step: name, error: err as Error });
      }
    };
    await step('http', () => this.closeHttp());
    if (this.parts) {
      const { maintenance, bus, moves, scheduler } = this.parts;
      await step('scheduler', () => scheduler.stop());
      await step('moves', () => moves.stop());
      await step('maintenance', () => maintenance.stop());
      await step('bus', () => bus.stop());
    }
    await step('database', () => this.database.stop());
    this.logger.info('app.stopped', {});
  }

  /** Stops taking requests, lets in-flight ones finish (their events reach the bus), then closes. */
  private closeHttp(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => {
      const force = setTimeout(() => server.closeAllConnections(), this.config.shutdownTimeoutMs);
      force.unref();
      server.close(() => {
        clearTimeout(force);
        resolve();
      });
      server.closeIdleConnections();
    });
  }
}

interface Parts {
  express: express.Express;
  bus: EventBus;
  applier: AppliedOnce;
  maintenance: StatsMaintenance;
  moves: MoveService;
  scheduler: TierScheduler;
  tiering: TieringService;
  users: UsersService;
}
