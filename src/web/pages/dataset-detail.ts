import { Router, type RequestHandler } from 'express';
import type { AnalyticsService } from '../../analytics';
import type { DatasetsService } from '../../datasets';
import type { IngestService } from '../../ingest';
import { LOCATIONS, TIERS } from '../../db';
import { AppError, ValidationError, parseId, Query, type Clock } from '../../platform';
import { type MoveService, moveProgress, restoreWait } from '../../storage';
import { parsePolicy, resolvePinnedMove, type TieringService } from '../../tiering';
import type { Views } from '../views';
import { formBody, num, str } from './forms';
import type { PagesRepository } from './repository';

/** The three views of a dataset's accesses: minutes, hours and days. */
export const SERIES = {
  m: { label: 'Last 2 hours, per minute', hours: 2, bucketMinutes: 1 },
  h: { label: 'Last 48 hours, per hour', hours: 48, bucketMinutes: 60 },
  d: { label: 'Last 30 days, per day', hours: 30 * 24, bucketMinutes: 1440 },
} as const;
export type SeriesKey = keyof typeof SERIES;

/** The policy form's modes, as its select shows them. */
const MODES = [
  ['auto', 'auto: the scheduler decides'],
  ['pinned', 'pinned: keep it at one placement'],
  ['never-tier', 'never-tier: never move it'],
] as const;

export interface DatasetPageDeps {
  views: Views;
  repo: PagesRepository;
  datasets: Pick<DatasetsService, 'get'>;
  analytics: Pick<AnalyticsService, 'series' | 'datasetStats'>;
  tiering: Pick<TieringService, 'decision' | 'explain' | 'decideNow' | 'toRow' | 'policyOf' | 'setPolicy' | 'quality'>;
  moves: Pick<MoveService, 'enqueue' | 'progress'>;
  ingest: Pick<IngestService, 'ingest'>;
  clock: Clock;
  requireOperator: RequestHandler;
}

/** Accesses per bucket with the model's expectation per bucket beside them (forecast against actual). */
export async function seriesModel(d: Pick<DatasetPageDeps, 'analytics' | 'tiering'>, id: number, key: SeriesKey) {
  const spec = SERIES[key];
  const [s, decision] = await Promise.all([
    d.analytics.series(id, spec.hours, spec.bucketMinutes),
    d.tiering.decideNow(id),
  ]);
  // The forecast is a rate over the horizon; per bucket it is that rate times the bucket's length.
  const perBucket = (decision.forecast.accesses / decision.horizonDays) * (spec.bucketMinutes / 1440);
  const labels = s.points.map((p) => (key === 'd' ? p.bucket_start.slice(0, 10) : p.bucket_start.slice(11, 16)));
  return {
    key,
    spec,
    series: SERIES,
    chart: {
      labels,
      datasets: [
        { label: 'Reads', data: s.points.map((p) => p.reads - p.scans) },
        { label: 'Writes', data: s.points.map((p) => p.writes) },
        { label: 'Scans', data: s.points.map((p) => p.scans) },
        {
          label: 'Forecast (model, per bucket)',
          data: s.points.map(() => Math.round(perBucket * 1000) / 1000),
          type: 'line',
        },
      ],
    },
    total: s.points.reduce((a, p) => a + p.count, 0),
    per_bucket_forecast: perBucket,
    resolution: s.resolution,
  };
}

/** The stored decision (or one made now) with every candidate placement priced. */
export async function decisionModel(
  d: Pick<DatasetPageDeps, 'tiering' | 'clock'>,
  id: number,
): Promise<Record<string, unknown>> {
  const stored = await d.tiering.decision(id);
  if (stored) return { stored: true, ...(await d.tiering.explain(stored)) };
  const decision = await d.tiering.decideNow(id);
  return { stored: false, ...(await d.tiering.explain(d.tiering.toRow(decision, 0, d.clock.now()))) };
}

export function datasetPages(d: DatasetPageDeps): Router {
  const r = Router();
  r.use(datasetViews(d));
  r.use(datasetActions(d));
  return r;
}

/** The page and the fragments it polls. */
function datasetViews(d: DatasetPageDeps): Router {
  const r = Router();
  const movesModel = async (id: number) => {
    const rows = await d.repo.moves({ datasetId: id, limit: 50 });
    return { id, moves: rows.map((m) => ({ ...m, p: moveProgress(m, d.moves), waiting: restoreWait(m) })) };
  };

  r.get('/datasets/:id', async (req, res) => {
    const id = parseId(req.params.id);
    const dataset = await d.datasets.get(id);
    const key = new Query(req.query).optEnum('series', ['m', 'h', 'd'] as const) ?? 'h';
    const [stats, series, decision, policy, moves, observations] = await Promise.all([
      d.analytics.datasetStats(id),
      seriesModel(d, id, key),
      decisionModel(d, id),
      d.tiering.policyOf(id),
      movesModel(id),
      d.repo.datasetObservations(id, 10),
    ]);
    d.views.render(res, 'dataset', {
      dataset,
      stats,
      s: series,
      decision,
      policy,
      movesModel: moves,
      observations,
      locations: LOCATIONS,
      tiers: TIERS,
      MODES,
      now: d.clock.now(),
      title: `${dataset.name} · Data in Motion`,
    });
  });

  r.get('/datasets/:id/parts/series', async (req, res) => {
    const id = parseId(req.params.id);
    await d.datasets.get(id);
    const key = new Query(req.query).optEnum('series', ['m', 'h', 'd'] as const) ?? 'h';
    d.views.render(res, 'parts/dataset-series', { id, s: await seriesModel(d, id, key) });
  });

  /** Headline numbers and the move history, polled while the page is open. */
  r.get('/datasets/:id/parts/live', async (req, res) => {
    const id = parseId(req.params.id);
    const [dataset, stats, moves] = await Promise.all([
      d.datasets.get(id),
      d.analytics.datasetStats(id),
      movesModel(id),
    ]);
    d.views.render(res, 'parts/dataset-live', { dataset, stats, movesModel: moves, now: d.clock.now() });
  });

  r.get('/datasets/:id/parts/decision', async (req, res) => {
    const id = parseId(req.params.id);
    await d.datasets.get(id);
    d.views.render(res, 'parts/dataset-decision', { decision: await decisionModel(d, id) });
  });

  return r;
}

/** What an operator does from the page: policy, move now, test events. */
function datasetActions(d: DatasetPageDeps): Router {
  const r = Router();
  /** Policy: the form's fields become the API's JSON body and go through the same parser and service. */
  r.post('/datasets/:id/policy', d.requireOperator, async (req, res) => {
    const id = parseId(req.params.id);
    await d.datasets.get(id);
    const b = formBody(req.body);
    const mode = str(b, 'mode') ?? 'auto';
    const body: Record<string, unknown> = { mode };
    if (mode === 'pinned') body.pin = { location: str(b, 'pin_location'), tier: str(b, 'pin_tier') };
    const latency = str(b, 'max_latency_ms');
    if (latency !== undefined) {
      const n = Number(latency);
      if (!Number.isFinite(n))
        throw new ValidationError('max_latency_ms', `must be a number, got "${latency.slice(0, 40)}"`);
      body.max_latency_ms = n;
    }
    const out = await d.tiering.setPolicy(id, parsePolicy(body));
    res.setHeader('HX-Trigger', 'dataset-changed');
    d.views.render(res, 'parts/notice', {
      message:
        out.move_id !== null
          ? `Policy saved: pinned, so move ${out.move_id} is on its way.`
          : `Policy saved: ${out.policy.mode}${out.policy.pin ? ` at ${out.policy.pin.location}/${out.policy.pin.tier}` : ''}.`,
    });
  });

  /**
   * Move now: the same queue as POST /api/datasets/:id/moves (reason "manual"). A pinned dataset
   * asks first: the answer offers to unpin it and move, or to pin it to the target.
   */
  r.post('/datasets/:id/moves', d.requireOperator, async (req, res) => {
    const id = parseId(req.params.id);
    const current = await d.datasets.get(id);
    const b = formBody(req.body);
    const location = pick(str(b, 'location') ?? current.location, LOCATIONS, 'location');
    const tier = pick(str(b, 'tier') ?? current.tier, TIERS, 'tier');
    const choiceText = str(b, 'pinned');
    const choice = choiceText === undefined ? undefined : pick(choiceText, ['UNPIN', 'PIN'] as const, 'pinned');
    let pinned: { moveId: number } | undefined;
    try {
      pinned = await resolvePinnedMove(
        d.tiering,
        id,
        { location, tier },
        choice === undefined ? undefined : choice === 'PIN' ? 'pin' : 'unpin',
      );
    } catch (err) {
      if (!(err instanceof AppError) || err.extra.field !== 'pinned') throw err;
      res.status(409);
      d.views.render(res, 'parts/pinned-choice', { id, pin: err.extra.pin, target: `${location}/${tier}` });
      return;
    }
    res.setHeader('HX-Trigger', 'dataset-changed');
    let message = `Pinned to ${location}/${tier}, so move ${pinned?.moveId} is on its way.`;
    if (!pinned) {
      const m = await d.moves.enqueue(id, {
        location,
        tier,
        reason: 'manual',
        detail: str(b, 'reason') ?? 'from the dataset page',
      });
      message = `${choice === 'UNPIN' ? 'Unpinned (policy auto). ' : ''}Move ${m.id} to ${location}/${tier} queued.`;
    }
    if (choice === undefined) return d.views.render(res, 'parts/notice', { message });
    // The choice changed the policy: the policy form on the page shows it too.
    const policy = await d.tiering.policyOf(id);
    d.views.render(res, 'parts/pinned-outcome', { message, policy, MODES, locations: LOCATIONS, tiers: TIERS });
  });

  r.post('/datasets/:id/events', d.requireOperator, async (req, res) => {
    const id = parseId(req.params.id);
    await d.datasets.get(id);
    const b = formBody(req.body);
    const count = num(b, 'count', 10, 1, 10_000, true);
    const type = str(b, 'type') ?? 'read';
    const bytes = num(b, 'bytes', 4096, 0, 1024 ** 4, true);
    const accepted = await d.ingest.ingest(
      Array.from({ length: count }, () => ({ dataset_id: id, type, bytes })),
      false,
    );
    res.setHeader('HX-Trigger', 'dataset-changed');
    d.views.render(res, 'parts/notice', { message: `Sent ${accepted} ${type} event${accepted === 1 ? '' : 's'}.` });
  });

  return r;
}

function pick<T extends string>(v: string, allowed: readonly T[], field: string): T {
  const m = allowed.find((a) => a === v.toUpperCase());
  if (!m) throw new ValidationError(field, `must be one of ${allowed.join(', ')}`);
  return m;
}
