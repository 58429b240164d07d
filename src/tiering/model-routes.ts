import { Router } from 'express';
import { parseId, Query } from '../platform';
import { fleetLessons } from './model-view';
import type { TieringRouteDeps } from './route-deps';

/** The model: its quality, its moves judged after the fact, and the original demo's forecast route. */
export function modelRoutes(d: TieringRouteDeps): Router {
  const r = Router();
  const { tiering } = d;

  r.get('/api/model', async (_req, res) => {
    const [quality, hindsight, fleet] = await Promise.all([
      tiering.quality(),
      tiering.hindsight(),
      fleetLessons(tiering),
    ]);
    res.json({ ...quality, hindsight, learnt_from_fleet: fleet });
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

  return r;
}
