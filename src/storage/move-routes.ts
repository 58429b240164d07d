import { Router } from 'express';
import { LOCATIONS, MOVE_STATES, TIERS, type Location, type MoveRow, type Tier } from '../db';
import { type DatasetsService, DEFAULT_LOCATION, datasetView, iso } from '../datasets';
import { AppError, Fields, Query, parseId } from '../platform';
import { type MoveService, moveProgress, restoreWait } from './moves';
import type { StorageRouteDeps } from './route-deps';

type MoveRouteDeps = Pick<StorageRouteDeps, 'moves' | 'repo' | 'datasets' | 'requireWrite' | 'pinnedMove'>;

/** Planning, listing and cancelling moves. */
export function moveRoutes(d: MoveRouteDeps): Router {
  const r = Router();
  const { moves, repo, datasets, requireWrite } = d;

  r.post('/api/datasets/:id/moves', requireWrite, async (req, res) => {
    const id = parseId(req.params.id);
    const f = Fields.of(req.body, 'body');
    f.only(['tier', 'location', 'reason', 'pinned']);
    const target = await targetOf(f, datasets, id, 'tier', 'location');
    const reason = f.optString('reason', { max: 500 }) ?? null;
    const choice = f.optEnum('pinned', ['unpin', 'pin'] as const);
    const pinned = await d.pinnedMove?.(id, target, choice);
    const pinMove = pinned && (await repo.move(pinned.moveId));
    const m = pinMove || (await moves.enqueue(id, { ...target, reason: 'manual', detail: reason }));
    res.status(202).location(`/api/migrations/${m.id}`).json(moveView(m, moves));
  });

  r.get('/api/migrations', async (req, res) => {
    const q = new Query(req.query);
    const rows = await repo.listMoves({
      state: q.optEnum('state', MOVE_STATES),
      datasetId: q.optString('dataset_id') === undefined ? undefined : parseId(q.optString('dataset_id'), 'dataset_id'),
      limit: q.number('limit', 100, { min: 1, max: 1_000, integer: true }),
      offset: q.number('offset', 0, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }),
    });
    res.json(rows.map((m) => moveView(m, moves)));
  });

  r.get('/api/migrations/:id', async (req, res) => {
    const m = await repo.move(parseId(req.params.id));
    if (!m) throw AppError.notFound('move not found');
    res.json(moveView(m, moves));
  });

  r.delete('/api/migrations/:id', requireWrite, async (req, res) => {
    res.json(moveView(await moves.cancel(parseId(req.params.id)), moves));
  });

  return r;
}

/** The original demo's routes, answering as it did. */
export function demoMoveRoutes(d: MoveRouteDeps): Router {
  const r = Router();
  const { moves, repo, datasets, requireWrite } = d;

  r.post('/api/migrate_enqueue/:id', requireWrite, async (req, res) => {
    const id = parseId(req.params.id);
    const f = Fields.of(req.body ?? {}, 'body');
    const target = await seedTarget(f);
    const reason = f.optString('reason', { max: 500 }) ?? null;
    await datasets.get(id);
    await moves.enqueue(id, { ...target, reason: 'seed', detail: reason });
    res.json({ enqueued: true, dataset_id: id, target_tier: target.tier });
  });

  r.post('/api/datasets/:id/migrate', requireWrite, async (req, res) => {
    const id = parseId(req.params.id);
    const f = Fields.of(req.body ?? {}, 'body');
    const target = await seedTarget(f);
    const reason = f.optString('reason', { max: 500 }) ?? null;
    const before = await datasets.get(id);
    if (before.migrating) throw AppError.conflict('dataset is migrating', { dataset_id: id });
    const m = await moves.enqueue(id, { ...target, reason: 'seed', detail: reason });
    const done = await moves.waitFor(m.id);
    if (done.state !== 'done')
      throw new AppError(500, `the move ${done.state}: ${done.error ?? 'unknown error'}`, { move_id: m.id });
    res.json(datasetView(await datasets.get(id)));
  });

  r.get('/api/migration_history', async (req, res) => {
    const q = new Query(req.query);
    const rows = await repo.listMoves({
      limit: q.number('limit', 200, { min: 1, max: 10_000, integer: true }),
      offset: q.number('skip', 0, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }),
    });
    res.json(
      rows
        .filter((m) => m.state !== 'planned')
        .map((m) => ({
          id: m.id,
          dataset_id: m.dataset_id,
          from_tier: m.from_tier,
          to_tier: m.to_tier,
          from_storage: m.from_location,
          to_storage: m.to_location,
          reason: m.reason_detail ?? m.reason,
          timestamp: iso(m.finished_at ?? m.switched_at ?? m.started_at ?? m.created_at),
          state: m.state,
        })),
    );
  });

  return r;
}

async function seedTarget(f: Fields): Promise<{ tier: Tier; location: Location }> {
  const t = f.raw('target_tier');
  const tier = TIERS.find((x) => x === t);
  if (!tier) throw new AppError(400, 'invalid target_tier', { field: 'target_tier' });
  const location = f.optEnum('target_storage', LOCATIONS) ?? DEFAULT_LOCATION[tier];
  return { tier, location };
}

async function targetOf(
  f: Fields,
  datasets: DatasetsService,
  id: number,
  tierField: string,
  locationField: string,
): Promise<{ tier: Tier; location: Location }> {
  const current = await datasets.get(id);
  const tier = f.optEnum(tierField, TIERS, { caseInsensitive: true }) ?? current.tier;
  const location = f.optEnum(locationField, LOCATIONS, { caseInsensitive: true }) ?? current.location;
  if (!f.has(tierField) && !f.has(locationField))
    f.fail(tierField, `give a target ${tierField} and/or ${locationField}`);
  return { tier, location };
}

export function moveView(m: MoveRow, moves: MoveService): Record<string, unknown> {
  const p = moveProgress(m, moves);
  return {
    id: m.id,
    dataset_id: m.dataset_id,
    from: { tier: m.from_tier, location: m.from_location },
    to: { tier: m.to_tier, location: m.to_location },
    state: m.state,
    /** "waiting for restore, ready about …" while its source is restored first; else null. */
    waiting: restoreWait(m),
    restore_ready_at: iso(m.restore_ready_at),
    /** The instance that claimed it (several instances on PostgreSQL). */
    owner: m.owner,
    reason: m.reason,
    reason_detail: m.reason_detail,
    decision_id: m.decision_id,
    catalog_only: m.catalog_only === 1,
    copy: m.copy,
    bytes_total: m.bytes_total,
    bytes_done: p.done,
    progress: p.fraction,
    rate_bytes_per_s: p.rate,
    eta_seconds: p.eta_seconds,
    duration_ms: m.finished_at && m.started_at ? m.finished_at - m.started_at : null,
    error: m.error,
    created_at: iso(m.created_at),
    started_at: iso(m.started_at),
    switched_at: iso(m.switched_at),
    finished_at: iso(m.finished_at),
  };
}
