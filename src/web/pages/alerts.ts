import { Router, type RequestHandler } from 'express';
import type { AlertService } from '../../alerts';
import { sessionOf } from '../../auth';
import { parseId } from '../../platform';
import type { Views } from '../views';

export interface AlertPageDeps {
  views: Views;
  alerts: Pick<AlertService, 'open' | 'acknowledge'>;
  requireOperator: RequestHandler;
}

/**
 * The notifications area: `views/partials/notifications.ejs` (any layout can include it; it
 * loads and refreshes this fragment itself) and acknowledging an alert from it.
 */
export function alertPages(d: AlertPageDeps): Router {
  const r = Router();

  r.get('/parts/notifications', async (_req, res) => {
    d.views.render(res, 'parts/notifications-list', { alerts: await d.alerts.open() });
  });

  r.post('/alerts/:id/acknowledge', d.requireOperator, async (req, res) => {
    const a = await d.alerts.acknowledge(parseId(req.params.id), `user:${sessionOf(res)?.user.username}`);
    res.setHeader('HX-Trigger', 'alerts-changed');
    d.views.render(res, 'parts/notifications-list', { alerts: await d.alerts.open(), acknowledged: a });
  });

  return r;
}
