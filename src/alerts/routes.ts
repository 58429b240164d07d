import { Router, type RequestHandler } from 'express';
import { parseId, Query } from '../platform';
import type { AlertService } from './service';

/** Alerts over JSON: the open ones (or the latest of all), and acknowledging one. */
export function alertRoutes(d: { alerts: AlertService; requireWrite: RequestHandler }): Router {
  const r = Router();

  r.get('/api/alerts', async (req, res) => {
    const q = new Query(req.query);
    const state = q.optEnum('state', ['open', 'all'] as const) ?? 'open';
    const limit = q.number('limit', 100, { min: 1, max: 1_000, integer: true });
    res.json(state === 'open' ? await d.alerts.open() : await d.alerts.recent(limit));
  });

  r.post('/api/alerts/:id/acknowledge', d.requireWrite, async (req, res) => {
    const by: unknown = res.locals.caller;
    res.json(await d.alerts.acknowledge(parseId(req.params.id), typeof by === 'string' ? by : 'api'));
  });

  return r;
}
