import { Router } from 'express';
import type { Health } from '../platform';

/**
 * `/healthz`: the process answers. `/readyz`: every service's checks (database open, bus
 * connected, consumer running, not shutting down, …); 503 naming each failing one. `details`
 * carries facts that do not decide readiness (the last backup and scrub).
 */
export function healthRoutes(
  health: () => Promise<Health>,
  busKind: string,
  details: () => Promise<Record<string, unknown>> = () => Promise.resolve({}),
): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    const [checks, facts] = await Promise.all([health(), details()]);
    const failing = Object.entries(checks).filter(([, v]) => v !== 'ok');
    const body = { status: failing.length === 0 ? 'ready' : 'not ready', bus: busKind, checks, details: facts };
    if (failing.length === 0) res.json(body);
    else res.status(503).json({ ...body, detail: failing.map(([k, v]) => `${k}: ${v}`).join('; ') });
  });
  return r;
}
