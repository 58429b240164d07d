import express, { Router, type RequestHandler } from 'express';
import type { AlertService } from '../../alerts';
import type { AnalyticsService } from '../../analytics';
import { type ApiKeys, type SessionAuth, type UsersService, sessionOf } from '../../auth';
import type { DatasetsService } from '../../datasets';
import type { IngestService } from '../../ingest';
import type { MoveService, StorePanelRow } from '../../storage';
import { type Clock, type Logger, parseId, Query } from '../../platform';
import type { EventBus, StreamGaps } from '../../stream';
import { type TierScheduler, type TieringService } from '../../tiering';
import { assetRoutes } from '../assets';
import { securityHeaders } from '../security';
import { Views } from '../views';
import { datasetPages } from './dataset-detail';
import { alertPages } from './alerts';
import { datasetEditPages } from './dataset-edit';
import { datasetsPages } from './datasets';
import { keysPages } from './keys';
import { loginPages, usersPages } from './login';
import { modelPages } from './model';
import { movesPages } from './moves';
import { activityModel, streamModel, summaryModel, EVENT_WINDOW_MINUTES } from './overview';
import { policyPages } from './policy';
import { recommendationsPages } from './recommendations';
import { PagesRepository } from './repository';
import { SummaryCache, TtlMemo } from './summary-cache';
import type { RateWindow } from '../rate-window';

/** What the overview says of the stored bytes' care: the last scrub and the last backup. */
export interface CareModel {
  scrub: {
    running: boolean;
    next_run_at: string | null;
    last: {
      finished_at: string | null;
      started_at: string;
      objects: number;
      damaged: number;
      error: string | null;
    } | null;
  };
  backups: {
    scheduled: boolean;
    next_run_at: string | null;
    last: { ok: boolean; at: string; file: string | null; error: string | null } | null;
  };
}

export interface PageDeps {
  sessions: SessionAuth;
  users: UsersService;
  apiKeys: Pick<ApiKeys, 'list' | 'create' | 'revoke'>;
  datasets: Pick<DatasetsService, 'get' | 'update' | 'delete'>;
  analytics: Pick<AnalyticsService, 'series' | 'datasetStats'>;
  ingest: Pick<IngestService, 'ingest'>;
  moves: Pick<MoveService, 'enqueue' | 'enqueueBatch' | 'cancel' | 'progress'>;
  tiering: TieringService;
  scheduler: TierScheduler;
  /** Open alerts for the notifications area; operators acknowledge them there. */
  alerts: Pick<AlertService, 'open' | 'acknowledge'>;
  bus: EventBus;
  /** Lost stretches of the log: the overview lists them until an operator acknowledges each. */
  gaps: Pick<StreamGaps, 'unacknowledged' | 'acknowledge'>;
  /** The last scrub and the last database backup (the overview's care line). */
  care: () => Promise<CareModel>;
  /** Each location's store with its health, objects and bytes (overview and moves page). */
  stores?: () => Promise<StorePanelRow[]>;
  /** Events applied per second of wall-clock time (the overview's chart). */
  eventRate: Pick<RateWindow, 'series'>;
  /** The pages' own queries; give it the read-only connection. */
  repo: PagesRepository;
  /** The wall-clock hour (UTC) of the daily cost snapshot, for the history's empty state. */
  historyHour?: number;
  clock: Clock;
  logger: Logger;
  views?: Views;
}

/**
 * The dashboard: server-rendered pages (EJS) whose live parts HTMX polls as fragments. Every
 * page needs a session; every state-changing request also needs the operator role, this
 * origin and the session's CSRF token (see SessionAuth), and goes through the same services
 * as the JSON API. Errors render as HTML through web/errors.ts (res.locals.html).
 */
export function pageRoutes(deps: PageDeps): Router {
  const views = deps.views ?? new Views();
  const { sessions } = deps;
  const r = Router();
  r.use('/assets', securityHeaders);
  r.use(assetRoutes());

  const pages = Router();
  pages.use(securityHeaders, (_req, res, next) => {
    res.locals.html = true;
    next();
  });
  pages.use(express.urlencoded({ extended: false, limit: '256kb', parameterLimit: 2_000 }));
  pages.use(sessions.attach);
  pages.use(loginPages({ views, sessions, users: deps.users, logger: deps.logger }));
  pages.use(sessions.requirePage);
  const requireOperator = sessions.requireRole('operator');
  const requireViewer = sessions.requireRole('viewer');
  const { repo, clock } = deps;

  pages.use(overviewPages(deps, views, requireOperator));
  pages.use(alertPages({ views, alerts: deps.alerts, requireOperator }));

  pages.use(datasetsPages({ views, repo, ingest: deps.ingest, tiering: deps.tiering, requireOperator }));
  pages.use(datasetEditPages({ views, datasets: deps.datasets, tiering: deps.tiering, requireOperator }));
  pages.use(
    datasetPages({
      views,
      repo,
      datasets: deps.datasets,
      analytics: deps.analytics,
      tiering: deps.tiering,
      moves: deps.moves,
      ingest: deps.ingest,
      clock,
      requireOperator,
    }),
  );
  pages.use(movesPages({ views, repo, moves: deps.moves, clock, requireOperator }));
  pages.use(recommendationsPages({ views, repo, tiering: deps.tiering, moves: deps.moves, requireOperator }));
  pages.use(
    policyPages({
      views,
      repo,
      tiering: deps.tiering,
      scheduler: deps.scheduler,
      clock,
      requireOperator,
      requireViewer,
    }),
  );
  pages.use(modelPages({ views, repo, tiering: deps.tiering, clock }));
  pages.use(usersPages({ views, users: deps.users, requireOperator, logger: deps.logger }));
  pages.use(keysPages({ views, keys: deps.apiKeys, requireOperator, logger: deps.logger }));

  r.use((req, res, next) => (isPagePath(req.path) ? pages(req, res, next) : next()));
  return r;
}

/** The overview and the fragments it polls; acknowledging a gap in the stream. */
function overviewPages(deps: PageDeps, views: Views, requireOperator: RequestHandler): Router {
  const pages = Router();
  const { repo, clock } = deps;
  const summaries = new SummaryCache({
    repo,
    compute: () => summaryModel({ tiering: deps.tiering }),
    catalogVersion: () => deps.tiering.catalog.version,
  });
  // "Events counted" lags by at most this much; the rate beside it is live.
  const totals = new TtlMemo(() => repo.totalAccesses(), 5_000);
  const total = () => totals.get();
  const historyModel = async (query: Record<string, unknown>, field: string) => {
    const days = new Query(query).number(field, 90, { min: 1, max: 3_660, integer: true });
    return { days, hour: deps.historyHour ?? 0, series: await deps.tiering.costs.series(days) };
  };
  pages.get('/', async (req, res) => {
    const [summary, stream, activity, gaps, care, history] = await Promise.all([
      summaries.get(),
      streamModel({ total, bus: deps.bus, rate: deps.eventRate }),
      activityModel({ repo, moves: deps.moves }),
      deps.gaps.unacknowledged(),
      deps.care(),
      historyModel(req.query, 'history_days'),
    ]);
    views.render(res, 'overview', {
      summary,
      history,
      gaps,
      care,
      stream,
      activity,
      windowMinutes: EVENT_WINDOW_MINUTES,
      now: clock.now(),
      title: 'Overview · Data in Motion',
    });
  });
  pages.get('/parts/overview/summary', async (_req, res) => {
    views.render(res, 'parts/overview-summary', { summary: await summaries.get() });
  });
  pages.get('/parts/overview/history', async (req, res) => {
    views.render(res, 'parts/overview-history', { history: await historyModel(req.query, 'days') });
  });
  pages.get('/parts/overview/stream', async (_req, res) => {
    views.render(res, 'parts/overview-stream', {
      stream: await streamModel({ total, bus: deps.bus, rate: deps.eventRate }),
      windowMinutes: EVENT_WINDOW_MINUTES,
    });
  });
  pages.get('/parts/overview/care', async (_req, res) => {
    views.render(res, 'parts/overview-care', { care: await deps.care(), now: clock.now() });
  });
  pages.get('/parts/stores', async (_req, res) => {
    views.render(res, 'parts/stores-panel', { stores: (await deps.stores?.()) ?? [] });
  });
  pages.get('/parts/overview/gaps', async (_req, res) => {
    views.render(res, 'parts/overview-gaps', { gaps: await deps.gaps.unacknowledged() });
  });
  pages.post('/gaps/:id/acknowledge', requireOperator, async (req, res) => {
    const id = parseId(req.params.id);
    await deps.gaps.acknowledge(id, `user:${sessionOf(res)?.user.username}`);
    res.setHeader('HX-Trigger', 'gaps-changed');
    views.render(res, 'parts/notice', { message: `Gap ${id} acknowledged.` });
  });
  pages.get('/parts/overview/activity', async (_req, res) => {
    views.render(res, 'parts/overview-activity', {
      activity: await activityModel({ repo, moves: deps.moves }),
      now: clock.now(),
    });
  });
  return pages;
}

/** The paths the pages own; everything else (the API, health) passes by untouched. */
const PAGE_PREFIXES = [
  '/login',
  '/logout',
  '/parts',
  '/gaps',
  '/alerts',
  '/datasets',
  '/recommendations',
  '/moves',
  '/policy',
  '/model',
  '/users',
  '/keys',
];

export function isPagePath(p: string): boolean {
  return p === '/' || PAGE_PREFIXES.some((x) => p === x || p.startsWith(x + '/'));
}

export { PagesRepository };
