import { Router } from 'express';
import { iso } from '../datasets';
import { Query, parseId } from '../platform';
import type { AnalyticsService } from './service';
import type { StatsRepository } from './stats-repository';

export function analyticsRoutes(service: AnalyticsService, stats: StatsRepository): Router {
  const r = Router();

  r.get('/api/datasets/:id/stats', async (req, res) => {
    res.json(await service.datasetStats(parseId(req.params.id)));
  });

  /** The original demo's route: `{dataset_id, hours, bucket_minutes, series: [{bucket_start, count}]}`. */
  r.get('/api/analytics/:id', async (req, res) => {
    const id = parseId(req.params.id);
    const q = new Query(req.query);
    const hours = q.number('hours', 24, { min: 1 / 60, max: 3 * 365 * 24 });
    const bucketMinutes = q.number('bucket_minutes', 15, { min: 1, max: 365 * 24 * 60, integer: true });
    const s = await service.series(id, hours, bucketMinutes);
    res.json({
      dataset_id: id,
      hours,
      bucket_minutes: bucketMinutes,
      resolution: s.resolution,
      retained_from: s.retainedFrom,
      series: s.points,
    });
  });

  r.get('/api/dead-letters', async (req, res) => {
    const q = new Query(req.query);
    const limit = q.number('limit', 100, { min: 1, max: 1_000, integer: true });
    const offset = q.number('offset', 0, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true });
    const [rows, total] = await Promise.all([stats.deadLetters(limit, offset), stats.deadLetterCount()]);
    res.setHeader('X-Total-Count', String(total));
    res.json(rows.map((d) => ({ ...d, created_at: iso(d.created_at) })));
  });

  return r;
}
