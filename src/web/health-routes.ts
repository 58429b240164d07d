import { Router } from 'express';
import type { Database } from '../db';
import type { EventBus } from '../stream';

/** `/healthz`: the process answers. `/readyz`: database open, bus connected, consumer running and caught up. */
export function healthRoutes(database: Database, bus: EventBus, isStopping: () => boolean): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    const checks = {
      database: (await database.ping()) ? 'ok' : 'database not open',
      ...(await bus.health()),
      process: isStopping() ? 'shutting down' : 'ok',
    };
    const failing = Object.entries(checks).filter(([, v]) => v !== 'ok');
    const body = { status: failing.length === 0 ? 'ready' : 'not ready', bus: bus.kind, checks };
    if (failing.length === 0) res.json(body);
    else res.status(503).json({ ...body, detail: failing.map(([k, v]) => `${k}: ${v}`).join('; ') });
  });
  return r;
}
