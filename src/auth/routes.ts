import { Router, type RequestHandler } from 'express';
import { AppError, type Logger, requestLogger, parseId } from '../platform';
import { parseNewKey } from './api-keys';
import type { RateLimiter } from './rate-limit';
import type { UsersService } from './users-service';
import { callerOf, identifyCaller, type ApiCallers } from './write-access';

export interface AuthRouteDeps {
  callers: ApiCallers;
  users: UsersService;
  requireWrite: RequestHandler;
  limiter?: RateLimiter;
  logger: Logger;
}

/**
 * The JSON API of credentials: validate a key, manage keys (admin scope, or an operator's
 * session), and mint short-lived tokens from a key. Secrets appear in answers only, never in logs.
 */
export function authRoutes({ callers, users, requireWrite, limiter, logger }: AuthRouteDeps): Router {
  const r = Router();
  const { keys, tokens } = callers;

  r.get('/api/auth/validate', async (req, res) => {
    const found = identifyCaller(callers, req);
    if (await found) res.json({ ok: true });
    else res.status(401).json({ detail: 'Invalid API key' });
  });

  r.get('/api/api-keys', requireWrite, async (_req, res) => {
    res.json(await keys.list());
  });

  r.post('/api/api-keys', requireWrite, async (req, res) => {
    const { name, scopes } = parseNewKey(req.body);
    const created = await keys.create(name, scopes);
    requestLogger(res, logger).info('auth.api_key_created', { key_id: created.id, name, scopes, by: callerOf(res) });
    res.status(201).json({ ...created, note: 'the key is shown once: store it now' });
  });

  r.delete('/api/api-keys/:id', requireWrite, async (req, res) => {
    const id = parseId(req.params.id);
    await keys.revoke(id);
    requestLogger(res, logger).info('auth.api_key_revoked', { key_id: id, by: callerOf(res) });
    res.json({ id, revoked: true });
  });

  // Any live key may mint a token with some or all of its own scopes; a token may not mint more.
  // The way back in for an operator whose password is lost: the admin scope (the bootstrap key
  // in ./data/api-key works) sets a new generated one, shown once. `npm run cli -- users reset-password NAME`.
  r.post('/api/users/:username/password', requireWrite, async (req, res) => {
    const out = await users.resetPassword(String(req.params.username), requestLogger(res, logger));
    res.setHeader('Cache-Control', 'no-store');
    res.json(out);
  });

  r.post('/api/tokens', async (req, res) => {
    const parent = await identifyCaller(callers, req);
    if (!parent)
      throw new AppError(401, 'an API key is needed (x-api-key or Authorization: Bearer)', { field: 'authorization' });
    limiter?.take(`key:${parent.keyId}`);
    const issued = await tokens.issue(parent, req.body);
    requestLogger(res, logger).info('auth.token_issued', {
      key_id: parent.keyId,
      scopes: issued.scopes,
      expires_at: issued.expires_at,
    });
    res.setHeader('Cache-Control', 'no-store');
    res.json(issued);
  });

  return r;
}
