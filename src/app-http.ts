import express from 'express';
import { analyticsRoutes } from './analytics';
import { authRoutes, writeAccessBeforeBody } from './auth';
import { backupRoutes } from './backup';
import type { Config } from './config';
import { datasetRoutes } from './datasets';
import { eventsHandlers, ingestRoutes } from './ingest';
import { type Health, type Logger, type Clock, logsAt, requestIds } from './platform';
import { storageRoutes, uploadRoutes } from './storage';
import { streamRoutes } from './stream';
import { resolvePinnedMove, tieringRoutes } from './tiering';
import { errorHandler, notFound, healthRoutes, type PagesRepository, pageRoutes } from './web';
import type { AuthParts, StorageParts, TieringParts } from './app-parts';
import type { StreamParts } from './app-stream';
import { alertRoutes, type AlertService } from './alerts';

export interface HttpDeps {
  config: Config;
  logger: Logger;
  clock: Clock;
  auth: AuthParts;
  storage: StorageParts;
  stream: StreamParts;
  tiering: TieringParts;
  alerts: AlertService;
  pagesRepo: PagesRepository;
  /** The services' checks for /readyz, and their details (facts that do not decide readiness). */
  health: () => Promise<Health>;
  details: () => Promise<Record<string, unknown>>;
  isStopping: () => boolean;
}

/** The Express app: middleware, then every capability's routes, then the one error mapper. */
export function buildHttp(d: HttpDeps): express.Express {
  const { config, logger, auth, storage, stream, tiering } = d;
  const { requireWrite, requireRead } = auth;
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // Once stopping: requests already running finish; new ones (on kept-alive connections) are
  // refused with 503 so clients retry elsewhere, and every answer closes its connection.
  const stopping: express.RequestHandler = (_req, res, next) => {
    if (!d.isStopping()) return next();
    res.setHeader('Connection', 'close');
    res.setHeader('Retry-After', '5');
    res.status(503).json({ detail: 'shutting down: nothing was accepted, retry shortly' });
  };
  const accessLog = config.accessLog !== 'off' && logsAt(config.logLevel, config.accessLog);
  const ids = requestIds(accessLog ? { logger, level: config.accessLog } : undefined);
  const timer = stream.metrics.httpTimer();
  // First, as one route with the layers it needs: events are the hottest route, and each
  // router layer before it cost every event a dispatch. Its own requireWrite is the write gate
  // (reads gate nothing on a POST).
  const events = eventsHandlers(stream.ingest, requireWrite, config.ingest.maxBodyBytes);
  app.post('/api/events', stopping, ids, timer, ...events);
  app.use(stopping);
  app.use(ids);
  app.use(timer);
  app.use(ingestRoutes(stream.ingest, requireWrite, config.ingest.maxBodyBytes));
  app.use(healthRoutes({ health: d.health, busKind: stream.bus.kind, details: d.details, mayRead: auth.mayRead }));
  app.use('/metrics', requireRead);
  app.use(stream.metrics.routes());
  app.use('/api', requireRead);
  app.use('/api', writeAccessBeforeBody(auth.callers, requireWrite));
  app.use(uploadRoutes({ content: stream.content, datasets: stream.datasets, requireWrite }));
  app.use('/api', express.json({ limit: '1mb' }));
  app.use(
    authRoutes({ callers: auth.callers, users: auth.users, requireWrite, limiter: auth.limiter, logger: auth.authLog }),
  );
  app.use(
    storageRoutes({
      content: stream.content,
      moves: storage.moves,
      repo: storage.repo,
      datasets: stream.datasets,
      keyring: storage.keyring,
      scrub: storage.scrub,
      headerRewrite: stream.headerRewrite,
      masterRotation: storage.masterRotation,
      requireWrite,
      pinnedMove: (id, target, choice) => resolvePinnedMove(tiering.tiering, id, target, choice),
    }),
  );
  app.use(
    tieringRoutes({
      tiering: tiering.tiering,
      scheduler: tiering.scheduler,
      datasetExists: (id) => stream.datasets.get(id),
      requireWrite,
    }),
  );
  app.use(alertRoutes({ alerts: d.alerts, requireWrite }));
  app.use(backupRoutes({ backups: storage.backups, requireWrite }));
  app.use(datasetRoutes(stream.datasets, requireWrite));
  app.use(analyticsRoutes(stream.analytics));
  app.use(streamRoutes({ bus: stream.bus, deadLetters: stream.deadLetters, gaps: stream.gaps }));
  app.use(pages(d));
  app.use(notFound);
  app.use(errorHandler(logger));
  return app;
}

function pages({ auth, storage, stream, tiering, alerts, config, pagesRepo, clock, logger }: HttpDeps): express.Router {
  return pageRoutes({
    sessions: auth.sessions,
    users: auth.users,
    apiKeys: auth.apiKeys,
    datasets: stream.datasets,
    analytics: stream.analytics,
    ingest: stream.ingest,
    moves: storage.moves,
    tiering: tiering.tiering,
    scheduler: tiering.scheduler,
    alerts,
    historyHour: config.tiering.historySnapshotHour,
    bus: stream.bus,
    eventRate: stream.metrics.appliedRate,
    care: async () => ({ scrub: await storage.scrub.view(), backups: storage.backups.view() }),
    stores: storage.storePanel,
    gaps: stream.streamGaps,
    repo: pagesRepo,
    clock,
    logger: logger.child({ part: 'pages' }),
  });
}
