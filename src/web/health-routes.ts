import { Router, type Request } from 'express';
import type { Health } from '../platform';

export interface HealthRouteDeps {
  health: () => Promise<Health>;
  busKind: string;
  /** Facts that do not decide readiness (the last backup and scrub, the master key's state). */
  details?: () => Promise<Record<string, unknown>>;
  /** Whether the caller may read (PUBLIC_READ, or a key with the read scope, or a session). */
  mayRead?: (req: Request) => Promise<boolean>;
}

/**
 * `/healthz`: the process answers. `/readyz`: every service's checks (database open, bus
 * connected, consumer running, not shutting down, …); 503 naming each failing one. Both stay
 * open to probes without credentials; `details` is shown only to a caller who may read, so
 * with PUBLIC_READ=false an anonymous probe learns whether the instance is ready and why not,
 * not the master key's fingerprint or when the last backup ran.
 */
export function healthRoutes(d: HealthRouteDeps): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (req, res) => {
    const [checks, reader] = await Promise.all([d.health(), d.mayRead ? d.mayRead(req) : Promise.resolve(true)]);
    const facts = reader && d.details ? await d.details() : undefined;
    const failing = Object.entries(checks).filter(([, v]) => v !== 'ok');
    const body = {
      status: failing.length === 0 ? 'ready' : 'not ready',
      bus: d.busKind,
      checks,
      ...(facts ? { details: facts } : {}),
    };
    if (failing.length === 0) res.json(body);
    else res.status(503).json({ ...body, detail: failing.map(([k, v]) => `${k}: ${v}`).join('; ') });
  });
  return r;
}
