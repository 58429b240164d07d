import busboy from 'busboy';
import { Router, type Request, type RequestHandler } from 'express';
import { LOCATIONS, MOVE_STATES, TIERS, type Location, type MoveRow, type Tier } from '../db';
import { type DatasetsService, DEFAULT_LOCATION, datasetView, iso } from '../datasets';
import { AppError, ValidationError, Fields, Query, parseId } from '../platform';
import type { ContentService } from './content-service';
import type { Keyring } from './keyring';
import type { MoveService } from './moves';
import { parseRange } from './range';
import type { StorageRepository } from './repository';

export interface StorageRouteDeps {
  content: ContentService;
  moves: MoveService;
  repo: StorageRepository;
  datasets: DatasetsService;
  keyring: Keyring;
  requireWrite: RequestHandler;
}

/**
 * Routes that take a raw or multipart body: mounted before the JSON body parser, so a JSON
 * file uploaded as content is stored as it is, never parsed.
 */
export function uploadRoutes(d: Pick<StorageRouteDeps, 'content' | 'datasets' | 'requireWrite'>): Router {
  const r = Router();
  const { content, datasets, requireWrite } = d;

  r.put('/api/datasets/:id/content', requireWrite, async (req, res) => {
    const id = parseId(req.params.id);
    const stored = await content.upload(id, req);
    res.json({ ...datasetView(await datasets.get(id)), uploaded: stored });
  });

  /** Create a dataset and its content in one step (multipart/form-data: fields, then the file). */
  r.post(
    '/api/datasets',
    (req, res, next) => (req.is('multipart/form-data') ? next() : next('route')),
    requireWrite,
    async (req, res) => {
      const created = await createWithUpload(req, datasets, content);
      res
        .status(201)
        .location(`/api/datasets/${created}`)
        .json(datasetView(await datasets.get(created)));
    },
  );

  return r;
}

export function storageRoutes(d: StorageRouteDeps): Router {
  const r = Router();
  const { content, moves, repo, datasets, keyring, requireWrite } = d;

  r.get('/api/datasets/:id/content', async (req, res) => {
    const id = parseId(req.params.id);
    const row = await repo.content(id);
    if (!row) throw AppError.notFound('dataset not found', { dataset_id: id });
    if (!row.object_id || row.content_bytes === null) {
      throw AppError.notFound(
        'dataset has no content: it is catalog-only (upload with PUT /api/datasets/:id/content)',
        { dataset_id: id, catalog_only: true },
      );
    }
    const size = row.content_bytes;
    const etag = `"${row.content_sha256}"`;
    res.setHeader('ETag', etag);
    res.setHeader('Accept-Ranges', 'bytes');
    if (req.get('if-none-match') === etag) {
      res.status(304).end();
      return;
    }
    const range = parseRange(req.get('range'), size);
    if (range === 'unsatisfiable') {
      res.setHeader('Content-Range', `bytes */${size}`);
      throw new AppError(416, `range not satisfiable: the content is ${size} bytes`);
    }
    const dl = await content.download(id, range);
    res.status(range ? 206 : 200);
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', String(dl.length));
    if (range) res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
    if (req.method === 'HEAD') {
      await dl.body.cancel();
      res.end();
      return;
    }
    res.on('close', () => {
      void dl.body.cancel();
      if (dl.body.sent > 0) content.recordRead(id, dl.body.sent);
    });
    dl.body.sendTo(res).catch((err: unknown) => {
      // Headers are gone: the only honest signal left is to cut the connection.
      res.destroy(err as Error);
    });
  });

  r.post('/api/datasets/:id/moves', requireWrite, async (req, res) => {
    const id = parseId(req.params.id);
    const f = Fields.of(req.body, 'body');
    f.only(['tier', 'location', 'reason']);
    const target = await targetOf(f, datasets, id, 'tier', 'location');
    const reason = f.optString('reason', { max: 500 }) ?? null;
    const m = await moves.enqueue(id, { ...target, reason: 'manual', detail: reason });
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

  // The original demo's routes.
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

  r.get('/api/keys', async (_req, res) => {
    res.json(await keyring.status());
  });

  r.post('/api/keys/rotate', requireWrite, async (req, res) => {
    const f = Fields.of(req.body ?? {}, 'body');
    f.only(['locations']);
    const given = f.optStringArray('locations', { maxItems: 3, maxLength: 10 });
    const locations = given?.map((l, i) => {
      const m = LOCATIONS.find((x) => x === l.toUpperCase());
      if (!m) throw new ValidationError(`locations[${i}]`, `must be one of ${LOCATIONS.join(', ')}`);
      return m;
    });
    res.json(await keyring.rotate(locations));
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
  const live = moves.progress(m.id);
  const done = live?.bytesDone ?? (m.state === 'done' ? m.bytes_total : m.bytes_done);
  const rate = live?.rate ?? null;
  const remaining = m.bytes_total - done;
  return {
    id: m.id,
    dataset_id: m.dataset_id,
    from: { tier: m.from_tier, location: m.from_location },
    to: { tier: m.to_tier, location: m.to_location },
    state: m.state,
    reason: m.reason,
    reason_detail: m.reason_detail,
    decision_id: m.decision_id,
    catalog_only: m.catalog_only === 1,
    bytes_total: m.bytes_total,
    bytes_done: done,
    progress: m.bytes_total > 0 ? done / m.bytes_total : m.state === 'done' ? 1 : 0,
    rate_bytes_per_s: rate,
    eta_seconds: rate && rate > 0 && remaining > 0 ? remaining / rate : m.state === 'done' ? 0 : null,
    duration_ms: m.finished_at && m.started_at ? m.finished_at - m.started_at : null,
    error: m.error,
    created_at: iso(m.created_at),
    started_at: iso(m.started_at),
    switched_at: iso(m.switched_at),
    finished_at: iso(m.finished_at),
  };
}

/** Parses multipart fields into a dataset, then streams the file part into it. */
function createWithUpload(req: Request, datasets: DatasetsService, content: ContentService): Promise<number> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: req.headers, limits: { files: 1, fields: 20, fieldSize: 64 * 1024 } });
    } catch (err) {
      reject(AppError.badRequest(`body: ${(err as Error).message}`, { field: 'body' }));
      return;
    }
    const fields: Record<string, unknown> = {};
    let work: Promise<number> | undefined;
    let failed = false;
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      req.unpipe(bb);
      req.resume();
      reject(err);
    };
    bb.on('field', (name, value) => {
      if (name === 'size_gb') fields[name] = value === '' ? undefined : Number(value);
      else if (name === 'tags')
        fields[name] =
          value === ''
            ? undefined
            : value
                .split(',')
                .map((t) => t.trim())
                .filter(Boolean);
      else fields[name] = value === '' ? undefined : value;
    });
    bb.on('file', (_name, stream) => {
      if (work) {
        stream.resume();
        return;
      }
      work = (async () => {
        let id: number | undefined;
        try {
          id = (await datasets.create(fields)).id;
          await content.upload(id, stream);
          return id;
        } catch (err) {
          stream.resume();
          // One step: if the content did not make it, neither does the dataset.
          if (id !== undefined) await datasets.delete(id).catch(() => undefined);
          throw err;
        }
      })();
      work.catch(fail);
    });
    bb.on('error', (err) => fail(AppError.badRequest(`body: ${(err as Error).message}`, { field: 'body' })));
    bb.on('close', () => {
      if (failed) return;
      if (!work) {
        fail(
          AppError.badRequest(
            'file: a multipart create needs a file part (or send JSON to create a catalog-only dataset)',
            { field: 'file' },
          ),
        );
        return;
      }
      work.then(resolve, fail);
    });
    req.pipe(bb);
  });
}
