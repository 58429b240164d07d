import { Router } from 'express';
import { Query } from '../platform';
import type { TieringRouteDeps } from './route-deps';

/** The daily cost history: what storage cost per placement, and the saving against always-HOT. */
export function historyRoutes(d: TieringRouteDeps): Router {
  const r = Router();
  const { tiering } = d;

  r.get('/api/history', async (req, res) => {
    const days = new Query(req.query).number('days', 90, { min: 1, max: 3_660, integer: true });
    res.json({ days, series: await tiering.costs.series(days) });
  });

  /** Today's snapshot now (replacing one taken earlier today). */
  r.post('/api/history/snapshot', d.requireWrite, async (_req, res) => {
    res.json(await tiering.costs.snapshot());
  });

  return r;
}
