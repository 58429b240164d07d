import { Router } from 'express';
import type { Health } from '../platform';

/**
 * `/healthz`: the process answers. `/readyz`: every service's checks (database open, bus
 * connected, consumer running, not shutting down, …); 503 naming each failing one.
 */
export function healthRoutes(health: () => Promise<Health>, busKind: string): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    const checks = await health();
    const failing = Object.entries(checks).filter(([, v]) => v !== 'ok');
    const body = { status: failing.length === 0 ? 'ready' : 'not ready', bus: busKind, checks };
    if (failing.length === 0) res.json(body);
    else res.status(503).json({ ...body, detail: failing.map(([k, v]) => `${k}: ${v}`).join('; ') });
  });
  return r;
}
