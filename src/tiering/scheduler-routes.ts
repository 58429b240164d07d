import { Router } from 'express';
import type { Selectable } from 'kysely';
import type { DB } from '../db';
import { Fields } from '../platform';
import type { SchedulerSettings } from './settings';
import type { TieringRouteDeps } from './route-deps';

/** The scheduler: a run on demand, its state and history, its settings. */
export function schedulerRoutes(d: TieringRouteDeps): Router {
  const r = Router();
  const { tiering, scheduler, requireWrite } = d;

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
      // Which instance runs the scheduler (the lease's holder); running and next_run_at are this instance's.
      runs_on: (await scheduler.leader()) ?? null,
      next_run_at: scheduler.nextRunAt === null ? null : new Date(scheduler.nextRunAt).toISOString(),
      runs: (await tiering.repo.runs.latest(20)).map(runView),
    });
  });

  r.put('/api/scheduler/settings', requireWrite, async (req, res) => {
    const patch = parseSettings(req.body);
    const s = await tiering.updateSettings(patch);
    scheduler.arm();
    res.json(settingsView(s));
  });

  return r;

  return r;
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

function runView(r: Selectable<DB['scheduler_runs']>): Record<string, unknown> {
  return {
    id: r.id,
    trigger: r.trigger,
    started_at: new Date(r.started_at).toISOString(),
    finished_at: r.finished_at === null ? null : new Date(r.finished_at).toISOString(),
    datasets: r.datasets,
    moves: r.moves,
    held: JSON.parse(r.held) as Record<string, number>,
    catalog_version: r.catalog_version,
    pending_saving_month: r.pending_saving_month,
    error: r.error,
  };
}
