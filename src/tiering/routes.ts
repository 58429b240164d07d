import { Router, type RequestHandler } from 'express';
import { AppError, Fields, parseId, Query } from '../platform';
import { LOCATIONS, TIERS, placementKey, type Placement } from './placements';
import type { DatasetPolicy, PolicyMode } from './policy';
import type { TierScheduler } from './scheduler';
import { decodeExplanation, type SchedulerSettings, type TieringService } from './service';

export interface TieringRouteDeps {
  tiering: TieringService;
  scheduler: TierScheduler;
  /** Resolves the dataset or throws 404. */
  datasetExists: (id: number) => Promise<unknown>;
  requireWrite: RequestHandler;
}

const MODES: readonly PolicyMode[] = ['auto', 'pinned', 'never-tier'];

export function tieringRoutes(d: TieringRouteDeps): Router {
  const r = Router();
  const { tiering, scheduler, requireWrite } = d;

  // --- recommendations and decisions ----------------------------------------------------------

  /** The original demo's list, plus where, why and how sure. Datasets whose decision is to move or held back. */
  r.get('/api/recommendations', async (req, res) => {
    const q = new Query(req.query);
    const limit = q.number('limit', 200, { min: 1, max: 1_000, integer: true });
    const offset = q.number('offset', 0, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true });
    const { rows, total } = await tiering.repo.recommendations(limit, offset);
    res.setHeader('X-Total-Count', String(total));
    res.json(
      rows.map((x) => ({
        id: x.dataset_id,
        name: x.name,
        size_gb: x.size_gb,
        current_tier: x.from_tier,
        current_location: x.from_location,
        // The seed's score: here the expected accesses per day over the horizon.
        score: Math.round((x.forecast_accesses / tiering.settings.horizonDays) * 1000) / 1000,
        recommended_tier: x.to_tier,
        recommended_location: x.to_location,
        estimated_monthly_saving_usd: Math.round(x.saving_month * 10_000) / 10_000,
        move_cost_usd: Math.round(x.move_cost * 10_000) / 10_000,
        break_even_days: x.break_even_days === null ? null : Math.round(x.break_even_days * 10) / 10,
        forecast_accesses: Math.round(x.forecast_accesses * 1000) / 1000,
        action: x.action,
        held_by: x.rule,
        decided_at: new Date(x.made_at).toISOString(),
        decision: `/api/datasets/${x.dataset_id}/decision`,
      })),
    );
  });

  /** The stored decision with its explanation; ?fresh=true decides again now (nothing stored or moved). */
  r.get('/api/datasets/:id/decision', async (req, res) => {
    const id = parseId(req.params.id);
    await d.datasetExists(id);
    const fresh = new Query(req.query).optEnum('fresh', ['true', 'false'] as const) === 'true';
    const stored = fresh ? undefined : await tiering.repo.decision(id);
    if (stored) return void res.json({ stored: true, ...(await tiering.explain(stored)) });
    const now = tiering.now();
    const decision = await tiering.decideNow(id);
    res.json({ stored: false, ...(await tiering.explain(tiering.toRow(decision, 0, now))) });
  });

  r.get('/api/decisions', async (req, res) => {
    const q = new Query(req.query);
    const rows = await tiering.repo.latestLoggedDecisions(q.number('limit', 50, { min: 1, max: 1_000, integer: true }));
    res.json(
      await Promise.all(
        rows.map(async (x) => ({
          name: x.name,
          ...(await tiering.explain({
            ...x,
            action: 'move',
            forecast_accesses: 0,
            cost_now_month: 0,
            cost_target_month: 0,
            move_cost: 0,
            break_even_days: null,
            ...fromExplanation(x),
          })),
        })),
      ),
    );
  });

  r.get('/api/decisions/:id', async (req, res) => {
    const x = await tiering.repo.loggedDecision(parseId(req.params.id));
    if (!x) throw AppError.notFound('decision not found');
    res.json(
      await tiering.explain({
        ...x,
        action: 'move',
        forecast_accesses: 0,
        cost_now_month: 0,
        cost_target_month: 0,
        move_cost: 0,
        break_even_days: null,
        ...fromExplanation(x),
      }),
    );
  });

  // --- per-dataset policy ---------------------------------------------------------------------

  r.get('/api/datasets/:id/policy', async (req, res) => {
    const id = parseId(req.params.id);
    await d.datasetExists(id);
    res.json(policyView(id, await tiering.policyOf(id)));
  });

  r.put('/api/datasets/:id/policy', requireWrite, async (req, res) => {
    const id = parseId(req.params.id);
    await d.datasetExists(id);
    const p = parsePolicy(req.body);
    const out = await tiering.setPolicy(id, p);
    res.json({ ...policyView(id, out.policy), move_id: out.move_id });
  });

  // --- the model ------------------------------------------------------------------------------

  r.get('/api/model', async (_req, res) => {
    res.json(await tiering.quality());
  });

  /** The original demo's forecast route: expected accesses per bucket over the next hours. */
  r.get('/api/ml/predict/:id', async (req, res) => {
    const id = parseId(req.params.id);
    const q = new Query(req.query);
    const hours = q.number('hours', 24, { min: 1, max: 24 * 365, integer: true });
    const bucketMinutes = q.number('bucket_minutes', 60, { min: 1, max: 24 * 60, integer: true });
    const decision = await tiering.decideNow(id);
    const perDay = decision.forecast.accesses / decision.horizonDays;
    const perBucket = (perDay * bucketMinutes) / 1440;
    res.json({
      dataset_id: id,
      hours,
      bucket_minutes: bucketMinutes,
      predicted_mean_per_bucket: Math.round(perBucket * 10_000) / 10_000,
      predicted_total: Math.round(((perDay * hours) / 24) * 1000) / 1000,
      horizon_days: decision.horizonDays,
    });
  });

  // --- the price catalog ----------------------------------------------------------------------

  r.get('/api/catalog', (_req, res) => {
    const c = tiering.catalog;
    res.json({ version: c.version, ...c.catalog });
  });

  /** A whole or partial catalog; validated, then stored as a new version. */
  r.put('/api/catalog', requireWrite, async (req, res) => {
    const body = Fields.of(req.body, 'body');
    const note = body.optString('note', { max: 500 }) ?? null;
    const { note: _ignored, ...catalog } = req.body as Record<string, unknown>;
    void _ignored;
    const v = await tiering.updateCatalog(catalog, note);
    res.json({ version: v.version, ...v.catalog });
  });

  r.get('/api/catalog/versions', async (_req, res) => {
    res.json(await tiering.repo.catalogVersions(1_000));
  });

  r.get('/api/catalog/versions/:version', async (req, res) => {
    const v = await tiering.repo.catalogVersion(parseId(req.params.version, 'version'));
    if (!v) throw AppError.notFound('price catalog version not found');
    res.json({ version: v.version, note: v.note, created_at: new Date(v.created_at).toISOString(), ...v.catalog });
  });

  // --- the scheduler --------------------------------------------------------------------------

  /** The original demo's answer `{"applied": [{id, from, to}]}`, plus the run's details. */
  r.post('/api/scheduler/run', requireWrite, async (_req, res) => {
    const run = await scheduler.run('api');
    res.json({
      applied: run.moves.map((m) => ({
        id: m.dataset_id,
        from: m.from.split('/')[1],
        to: m.to.split('/')[1],
        from_placement: m.from,
        to_placement: m.to,
        move_id: m.move_id,
        decision_id: m.decision_id,
      })),
      run,
    });
  });

  r.get('/api/scheduler', async (_req, res) => {
    res.json({
      settings: settingsView(tiering.settings),
      running: scheduler.isRunning,
      next_run_at: scheduler.nextRunAt === null ? null : new Date(scheduler.nextRunAt).toISOString(),
      runs: (await tiering.repo.runs(20)).map(runView),
    });
  });

  r.put('/api/scheduler/settings', requireWrite, async (req, res) => {
    const patch = parseSettings(req.body);
    const s = await tiering.updateSettings(patch);
    scheduler.arm();
    res.json(settingsView(s));
  });

  return r;
}

function fromExplanation(x: { explanation: string }): Record<string, number> {
  return { forecast_accesses: decodeExplanation(x.explanation).forecast.accesses };
}

function policyView(id: number, p: DatasetPolicy): Record<string, unknown> {
  return {
    dataset_id: id,
    mode: p.mode,
    pin: p.pin ? { location: p.pin.location, tier: p.pin.tier, placement: placementKey(p.pin) } : null,
    max_latency_ms: p.maxLatencyMs,
  };
}

export function parsePolicy(body: unknown): DatasetPolicy {
  const f: Fields = Fields.of(body, 'body');
  f.only(['mode', 'pin', 'location', 'tier', 'max_latency_ms']);
  const mode = f.optEnum('mode', MODES) ?? 'auto';
  let pin: Placement | null = null;
  if (f.has('pin') && f.raw('pin') !== null) {
    const p: Fields = Fields.of(f.raw('pin'), 'pin');
    p.only(['location', 'tier']);
    const location = p.optEnum('location', LOCATIONS, { caseInsensitive: true });
    const tier = p.optEnum('tier', TIERS, { caseInsensitive: true });
    if (!location) p.fail('location', 'is required');
    if (!tier) p.fail('tier', 'is required');
    pin = { location, tier };
  } else if (f.has('location') || f.has('tier')) {
    const location = f.optEnum('location', LOCATIONS, { caseInsensitive: true });
    const tier = f.optEnum('tier', TIERS, { caseInsensitive: true });
    if (!location) f.fail('location', 'is required with tier');
    if (!tier) f.fail('tier', 'is required with location');
    pin = { location, tier };
  }
  if (mode === 'pinned' && !pin) f.fail('pin', 'is required when mode is pinned ({"location": …, "tier": …})');
  if (mode !== 'pinned' && pin) f.fail('pin', 'is only allowed when mode is pinned');
  const raw = f.raw('max_latency_ms');
  const maxLatencyMs =
    raw === null || raw === undefined ? null : f.optNumber('max_latency_ms', { min: 0, max: 86_400_000 })!;
  return { mode, pin, maxLatencyMs };
}

function settingsView(s: SchedulerSettings): Record<string, unknown> {
  return {
    enabled: s.enabled,
    interval_ms: s.intervalMs,
    horizon_days: s.horizonDays,
    hysteresis: s.hysteresis,
    min_saving_per_month: s.minSavingPerMonth,
    cooldown_ms: s.cooldownMs,
    max_latency_ms: s.defaultMaxLatencyMs,
    budget_bytes: s.budgetBytes,
    budget_moves: s.budgetMoves,
    observations_per_run: s.observationsPerRun,
    min_model_updates: s.minModelUpdates,
  };
}

export function parseSettings(body: unknown): Partial<SchedulerSettings> {
  const f = Fields.of(body, 'body');
  const names = [
    'enabled',
    'interval_ms',
    'horizon_days',
    'hysteresis',
    'min_saving_per_month',
    'cooldown_ms',
    'max_latency_ms',
    'budget_bytes',
    'budget_moves',
    'observations_per_run',
    'min_model_updates',
  ];
  f.only(names);
  const out: Partial<SchedulerSettings> = {};
  const set = <K extends keyof SchedulerSettings>(k: K, v: SchedulerSettings[K] | undefined): void => {
    if (v !== undefined) out[k] = v;
  };
  set('enabled', f.optBoolean('enabled'));
  set('intervalMs', f.optNumber('interval_ms', { min: 1_000, max: 30 * 86_400_000, integer: true }));
  set('horizonDays', f.optNumber('horizon_days', { min: 1, max: 365, integer: true }));
  set('hysteresis', f.optNumber('hysteresis', { min: 0, max: 100 }));
  set('minSavingPerMonth', f.optNumber('min_saving_per_month', { min: 0, max: 1e9 }));
  set('cooldownMs', f.optNumber('cooldown_ms', { min: 0, max: 365 * 86_400_000, integer: true }));
  if (f.has('max_latency_ms'))
    out.defaultMaxLatencyMs =
      f.raw('max_latency_ms') === null ? null : f.optNumber('max_latency_ms', { min: 0, max: 86_400_000 })!;
  set('budgetBytes', f.optNumber('budget_bytes', { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }));
  set('budgetMoves', f.optNumber('budget_moves', { min: 0, max: 10_000_000, integer: true }));
  set('observationsPerRun', f.optNumber('observations_per_run', { min: 0, max: 100_000, integer: true }));
  set('minModelUpdates', f.optNumber('min_model_updates', { min: 0, max: 100_000_000, integer: true }));
  return out;
}

function runView(r: {
  id: number;
  trigger: string;
  started_at: number;
  finished_at: number | null;
  datasets: number;
  moves: number;
  held: string;
  catalog_version: number | null;
  error: string | null;
}): Record<string, unknown> {
  return {
    id: r.id,
    trigger: r.trigger,
    started_at: new Date(r.started_at).toISOString(),
    finished_at: r.finished_at === null ? null : new Date(r.finished_at).toISOString(),
    datasets: r.datasets,
    moves: r.moves,
    held: JSON.parse(r.held) as Record<string, number>,
    catalog_version: r.catalog_version,
    error: r.error,
  };
}
