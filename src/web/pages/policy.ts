import { Router, type RequestHandler } from 'express';
import { type Clock, ValidationError } from '../../platform';
import {
  type PriceCatalog,
  parseCatalog,
  type PolicySettings,
  LOCATIONS,
  PLACEMENTS,
  placementKey,
  parseSettings,
  MATRIX_LIMITS,
  REPLAY_LIMITS,
  type ReplayRequest,
  type SchedulerSettings,
  type TierScheduler,
  type TieringService,
} from '../../tiering';
import type { Views } from '../views';
import { catalogFromForm, catalogFieldError, PRICE_FIELDS } from './catalog-form';
import { checked, formBody, num, optNum, str, type FormBody } from './forms';
import type { PagesRepository } from './repository';

export interface PolicyPageDeps {
  views: Views;
  repo: PagesRepository;
  tiering: Pick<
    TieringService,
    | 'catalog'
    | 'updateCatalog'
    | 'settings'
    | 'updateSettings'
    | 'catalogVersions'
    | 'catalogVersion'
    | 'recentRuns'
    | 'replay'
  >;
  scheduler: Pick<TierScheduler, 'run' | 'arm' | 'isRunning' | 'nextRunAt'>;
  clock: Clock;
  requireOperator: RequestHandler;
  /** A POST any signed-in user may make (CSRF and origin checked): the replay changes nothing. */
  requireViewer: RequestHandler;
}

const MINUTE = 60_000;

/** The scheduler form (minutes, dollars, GiB as a person types them) as PUT /api/scheduler/settings's body. */
export function settingsFromForm(b: FormBody): Record<string, unknown> {
  const out: Record<string, unknown> = { enabled: checked(b, 'enabled') };
  const minutes = optNum(b, 'interval_minutes');
  if (minutes !== undefined) out.interval_ms = Math.round(minutes * MINUTE);
  const budgetGiB = optNum(b, 'budget_gib');
  if (budgetGiB !== undefined) out.budget_bytes = Math.round(budgetGiB * 1024 ** 3);
  const moves = optNum(b, 'budget_moves');
  if (moves !== undefined) out.budget_moves = moves;
  const hyst = optNum(b, 'hysteresis');
  if (hyst !== undefined) out.hysteresis = hyst;
  const minSaving = optNum(b, 'min_saving_per_month');
  if (minSaving !== undefined) out.min_saving_per_month = minSaving;
  const latency = str(b, 'max_latency_ms');
  if (latency !== undefined) out.max_latency_ms = latency === 'none' ? null : optNum(b, 'max_latency_ms');
  return out;
}

export function policyPages(d: PolicyPageDeps): Router {
  const r = Router();

  const model = async () => ({
    catalog: d.tiering.catalog,
    versions: await d.tiering.catalogVersions(20),
    settings: d.tiering.settings,
    scheduler: { running: d.scheduler.isRunning, next_run_at: d.scheduler.nextRunAt },
    runs: await d.tiering.recentRuns(10),
    fields: PRICE_FIELDS,
    placements: PLACEMENTS.map(placementKey),
    locations: LOCATIONS,
    limits: REPLAY_LIMITS,
    matrixLimits: MATRIX_LIMITS,
    datasetCount: await d.repo.datasetCount(),
    now: d.clock.now(),
  });

  r.get('/policy', async (_req, res) => {
    d.views.render(res, 'policy', { ...(await model()), title: 'Policy and costs · Data in Motion' });
  });

  r.get('/policy/parts/scheduler', async (_req, res) => {
    d.views.render(res, 'parts/scheduler-runs', await model());
  });

  /**
   * Prices: the same validation and versioning as PUT /api/catalog. The answer is the whole
   * catalog section (heading, form, versions) with the outcome in it; a refused field is named
   * as a person reads it and marked in the form (the API's JSON keeps the field's path).
   */
  r.post('/policy/catalog', d.requireOperator, async (req, res) => {
    const b = formBody(req.body);
    let saved: string;
    try {
      const partial = catalogFromForm(b);
      if (Object.keys(partial).length === 0) throw new ValidationError('catalog', 'no price was given');
      const v = await d.tiering.updateCatalog(partial, str(b, 'note') ?? null);
      saved = v.changed
        ? `Saved as version ${v.version}.`
        : `No change: the prices are those of version ${v.version}, so no version was made.`;
      if (v.changed) res.setHeader('HX-Trigger', 'catalog-changed');
    } catch (err) {
      const invalid = catalogFieldError(err);
      if (!invalid) throw err;
      res.status(400);
      d.views.render(res, 'parts/catalog-section', { ...(await model()), invalid });
      return;
    }
    d.views.render(res, 'parts/catalog-section', { ...(await model()), saved });
  });

  r.get('/policy/parts/catalog', async (_req, res) => {
    d.views.render(res, 'parts/catalog-section', await model());
  });

  /** Scheduler settings: the same parser as PUT /api/scheduler/settings, then the timer re-armed. */
  r.post('/policy/scheduler', d.requireOperator, async (req, res) => {
    const patch = parseSettings(settingsFromForm(formBody(req.body)));
    await d.tiering.updateSettings(patch);
    d.scheduler.arm();
    res.setHeader('HX-Trigger', 'scheduler-changed');
    d.views.render(res, 'parts/notice', { message: 'Scheduler settings saved.' });
  });

  r.post('/policy/run', d.requireOperator, async (_req, res) => {
    const run = await d.scheduler.run('pages');
    res.setHeader('HX-Trigger', 'scheduler-changed');
    d.views.render(res, 'parts/notice', {
      message: `Run ${run.run_id}: ${run.datasets.toLocaleString('en-US')} datasets decided in ${run.seconds.toFixed(1)} s, ${run.moves.length} move${run.moves.length === 1 ? '' : 's'} queued${
        Object.keys(run.held).length
          ? `, held: ${Object.entries(run.held)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}`
          : ''
      }.`,
    });
  });

  /** What-if: the recorded history replayed under another catalog and settings (read-only: nothing is stored). */
  r.post('/policy/replay', d.requireViewer, async (req, res) => {
    const out = await d.tiering.replay(await replayRequest(d, formBody(req.body)));
    d.views.render(res, 'parts/replay-result', { out });
  });

  return r;
}

/** The replay form: the window, the catalog (a version, with JSON changes) and the policy's settings. */
async function replayRequest(d: PolicyPageDeps, b: FormBody): Promise<ReplayRequest> {
  const days = num(b, 'days', 14, 1, REPLAY_LIMITS.maxDays, true);
  const datasets = num(b, 'datasets', 500, 1, REPLAY_LIMITS.maxDatasets, true);
  const versionText = str(b, 'catalog_version');
  let catalog: PriceCatalog = d.tiering.catalog.catalog;
  let catalogLabel = `current (version ${d.tiering.catalog.version})`;
  if (versionText !== undefined && versionText !== 'current') {
    const version = num(b, 'catalog_version', 0, 1, Number.MAX_SAFE_INTEGER, true);
    const v = await d.tiering.catalogVersion(version);
    if (!v) throw new ValidationError('catalog_version', `version ${version} does not exist`);
    catalog = v.catalog;
    catalogLabel = `version ${version}`;
  }
  const overrides = str(b, 'catalog_json');
  if (overrides !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(overrides);
    } catch (err) {
      throw new ValidationError('catalog_json', `invalid JSON (${(err as Error).message.slice(0, 100)})`);
    }
    catalog = parseCatalog(parsed, catalog);
    catalogLabel += ' with changes';
  }
  return { days, datasets, catalog, catalogLabel, settings: replaySettings(b, d.tiering.settings) };
}

/** The replay form's policy settings over the live ones. */
function replaySettings(b: FormBody, base: SchedulerSettings): PolicySettings {
  return {
    horizonDays: base.horizonDays,
    hysteresis: num(b, 'hysteresis', base.hysteresis, 0, 100),
    minSavingPerMonth: num(b, 'min_saving_per_month', base.minSavingPerMonth, 0, 1e9),
    cooldownMs: num(b, 'cooldown_hours', base.cooldownMs / 3_600_000, 0, 24 * 365) * 3_600_000,
    defaultMaxLatencyMs:
      str(b, 'max_latency_ms') === 'none'
        ? null
        : num(b, 'max_latency_ms', base.defaultMaxLatencyMs ?? 1_000, 0, 86_400_000),
    budgetBytes: base.budgetBytes,
    budgetMoves: base.budgetMoves,
    minModelUpdates: num(b, 'min_model_updates', base.minModelUpdates, 0, 100_000_000, true),
    demotionRisk: base.demotionRisk,
  };
}
