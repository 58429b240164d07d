import type { RequestHandler } from 'express';
import { AppError } from '../platform/errors';
import type { ApiKeyAuth } from './api-key';
import type { RateLimiter } from './rate-limit';
import { SESSION_COOKIE, allows, cookieValue, type SessionAuth } from './sessions';

/**
 * The one gate of every JSON write route: the API key (`x-api-key` or `Authorization: Bearer`),
 * or a page session — from this origin, with its CSRF token — whose user is an operator.
 * A viewer's session gets 403; no key and no session, 401 as before.
 */
export function writeAccess(apiKey: ApiKeyAuth, sessions: SessionAuth, limiter?: RateLimiter): RequestHandler {
  return async (req, _res, next) => {
    if (apiKey.valid(req.get('x-api-key'), req.get('authorization'))) {
      limiter?.take('key:api');
      return next();
    }
    if (!cookieValue(req.get('cookie'), SESSION_COOKIE)) throw new AppError(401, 'Invalid API key');
    const s = await sessions.read(req);
    if (!s) throw new AppError(401, 'session expired or invalid: sign in again', { login: '/login' });
    sessions.checkUnsafe(req, s);
    if (!allows(s.user.role, 'operator')) throw new AppError(403, `your role (${s.user.role}) may not change anything: it needs operator`, { role: s.user.role });
    limiter?.take(`user:${s.user.username}`);
    next();
  };
}
