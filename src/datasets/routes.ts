import { Router, type RequestHandler } from 'express';
import { LOCATIONS, TIERS } from '../db';
import { Query, parseId } from '../platform';
import type { DatasetSort } from './repository';
import type { DatasetsService } from './service';
import { parseTagFilter } from './tag-filter';
import { datasetView } from './view';

const SORTS: readonly DatasetSort[] = ['id', 'name', 'created_at', 'size_gb', 'access_count', 'last_access'];

export function datasetRoutes(service: DatasetsService, requireWrite: RequestHandler): Router {
  const r = Router();

  r.post('/api/datasets', requireWrite, async (req, res) => {
    const d = await service.create(req.body);
    res.status(201).location(`/api/datasets/${d.id}`).json(datasetView(d));
  });

  // A plain JSON array, as the original demo returned; paging travels in headers.
  r.get('/api/datasets', async (req, res) => {
    const q = new Query(req.query);
    const limit = q.number('limit', 100, { min: 1, max: 1_000, integer: true });
    const offset = q.number('offset', 0, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true });
    const { rows, total } = await service.list({
      name: q.optString('name'),
      tag: parseTagFilter(req.query),
      tier: q.optEnum('tier', TIERS),
      location: q.optEnum('location', LOCATIONS) ?? q.optEnum('storage_type', LOCATIONS),
      sort: q.optEnum('sort', SORTS) ?? 'id',
      order: q.optEnum('order', ['asc', 'desc'] as const) ?? 'asc',
      limit,
      offset,
    });
    res.setHeader('X-Total-Count', String(total));
    if (offset + rows.length < total) {
      const next = new URLSearchParams(req.query as Record<string, string>);
      next.set('offset', String(offset + limit));
      next.set('limit', String(limit));
      res.setHeader('Link', `</api/datasets?${next.toString()}>; rel="next"`);
    }
    res.json(rows.map(datasetView));
  });

  r.get('/api/datasets/:id', async (req, res) => {
    res.json(datasetView(await service.get(parseId(req.params.id))));
  });

  r.patch('/api/datasets/:id', requireWrite, async (req, res) => {
    res.json(datasetView(await service.update(parseId(req.params.id), req.body)));
  });

  r.delete('/api/datasets/:id', requireWrite, async (req, res) => {
    await service.delete(parseId(req.params.id));
    res.status(204).end();
  });

  return r;
}
