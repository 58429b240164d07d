import { Router } from 'express';
import { Query, parseId } from '../platform';
import type { AnalyticsService } from './service';

export function analyticsRoutes(service: AnalyticsService): Router {
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

  return r;
}
