import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type express from 'express';
import type { UsersService } from './auth';
import type { Config } from './config';
import { Database } from './db';
import { type Clock, type Health, type Logger, type Service, ServiceList, createLogger, systemClock } from './platform';
import type { AppliedOnce, EventBus } from './stream';
import type { TierScheduler, TieringService } from './tiering';
import { createHttpServer, PagesRepository } from './web';
import { buildHttp } from './app-http';
import { buildAuth, buildStorage, buildTiering, type Base } from './app-parts';
import { buildAlerts, buildStream } from './app-stream';
import { DataDirLock, instanceId } from './cluster';

export interface AppDeps {
  logger?: Logger;
  clock?: Clock;
  /**
   * Called when a set-up proves unsafe after the start (another consumer-group member while the
   * state is SQLite); main stops the app and exits non-zero. Absent: logged only.
   */
  onFatal?: (err: Error) => void;
}

interface Parts {
  express: express.Express;
  bus: EventBus;
  applier: AppliedOnce;
  scheduler: TierScheduler;
  tiering: TieringService;
  users: UsersService;
}

/**
 * The composition root: builds every part from the config and keeps the long-running ones as a
 * list of services, started in order, stopped in reverse, asked for their health by `/readyz`.
 * It never exits the process; main.ts does.
 */
export class App {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly database: Database;
  /** This instance's name among those sharing the database (INSTANCE_ID, or generated). */
  readonly instance: string;
  private readonly services: ServiceList;
  private readonly onFatal: (err: Error) => void;
  private parts: Parts | undefined;
  private server: http.Server | undefined;
  private stopping = false;
  private stopped: Promise<void> | undefined;

  constructor(config: Config, deps: AppDeps = {}) {
    this.config = config;
    this.logger = deps.logger ?? createLogger(config.logLevel);
    this.clock = deps.clock ?? systemClock;
    this.instance = instanceId(config.cluster.instanceId);
    this.onFatal = deps.onFatal ?? ((err) => this.logger.error('app.fatal', { error: err }));
    this.database = new Database({
      path: config.databasePath,
      synchronous: config.sqliteSynchronous,
      url: config.databaseUrl,
      poolSize: config.databasePoolSize,
      logger: this.logger,
    });
    this.services = new ServiceList(this.logger);
  }

  private part<K extends keyof Parts>(key: K): Parts[K] {
    if (!this.parts) throw new Error('app not started');
    return this.parts[key];
  }

  /** The Express app, for in-process tests (supertest) once start() has resolved. */
  get http(): express.Express {
    return this.part('express');
  }

  get bus(): EventBus {
    return this.part('bus');
  }

  get applier(): AppliedOnce {
    return this.part('applier');
  }

  get scheduler(): TierScheduler {
    return this.part('scheduler');
  }

  get tiering(): TieringService {
    return this.part('tiering');
  }

  /** The pages' users (tests add viewers here). */
  get users(): UsersService {
    return this.part('users');
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? this.config.port;
  }

  /** The services in start order (stop runs it backward). */
  get serviceNames(): string[] {
    return this.services.names();
  }

  async start({ listen = true }: { listen?: boolean } = {}): Promise<void> {
    const { config, logger, clock } = this;
    // SQLite serves one process: the data directory is locked before the database opens.
    // PostgreSQL is shared: leases and move claims share the work between instances.
    const exclusive = this.database.dialect === 'sqlite';
    if (exclusive) this.services.add(new DataDirLock(config.dataDir, this.instance));
    // Every part below needs the open, migrated database.
    this.services.add(this.database);
    await this.services.start();
    const base: Base = {
      config,
      database: this.database,
      db: this.database.db,
      clock,
      logger,
      instance: this.instance,
      exclusive,
      onFatal: (err) => this.onFatal(err),
    };
    const auth = buildAuth(base);
    const storage = await buildStorage(base);
    const stream = await buildStream(base, storage);
    const tiering = buildTiering(base, storage);
    const alerting = buildAlerts(base, stream, () => this.health());
    for (const lease of [storage.scrubLease, tiering.lease, alerting.lease])
      if (lease) stream.metrics.countRefusals(lease);
    stream.metrics.countClaimsLost(storage.moves);
    const app = buildHttp({
      config,
      logger,
      clock,
      auth,
      storage,
      stream,
      tiering,
      alerts: alerting.alerts,
      pagesRepo: new PagesRepository(this.database.reader),
      health: () => this.health(),
      details: () => this.services.details(),
      isStopping: () => this.stopping,
    });
    this.parts = {
      express: app,
      bus: stream.bus,
      applier: stream.applier,
      scheduler: tiering.scheduler,
      tiering: tiering.tiering,
      users: auth.users,
    };
    this.services.add(
      ...auth.services,
      storage.prepare,
      tiering.prepare,
      ...stream.services,
      ...storage.services,
      ...tiering.services,
      ...alerting.services,
    );
    if (listen) this.services.add(this.httpService(app));
    await this.services.start();
    auth.announceFirstUser();
    logger.info('app.started', {
      port: this.port,
      bus: stream.bus.kind,
      data_dir: config.dataDir,
      services: this.services.names(),
    });
  }

  /** Every service's checks, and whether this process is shutting down. */
  private async health(): Promise<Health> {
    return { ...(await this.services.health()), process: this.stopping ? 'shutting down' : 'ok' };
  }

  /** Started last and so stopped first: stop taking requests, let in-flight ones finish. */
  private httpService(app: express.Express): Service {
    return {
      name: 'http',
      start: () => this.listen(app),
      stop: () => this.closeHttp(),
    };
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
    await this.services.stop();
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
