import type { RequestHandler } from 'express';
import { AppError } from '../platform/errors';
import { allowsScope, requiredScope, type ApiKeys } from './api-keys';
import type { RateLimiter } from './rate-limit';
import { SESSION_COOKIE, allows, cookieValue, type SessionAuth } from './sessions';

/**
 * The one gate of every JSON write route: an API key (`x-api-key` or `Authorization: Bearer`)
 * holding the scope the route needs (see requiredScope), or a page session — from this origin,
 * with its CSRF token — whose user is an operator. Then the caller's rate limit. A key without
 * the scope, or a viewer's session, gets 403; no key and no session, 401.
 */
export function writeAccess(keys: ApiKeys, sessions: SessionAuth, limiter?: RateLimiter): RequestHandler {
  return async (req, _res, next) => {
    const key = keys.identify(req.get('x-api-key'), req.get('authorization'));
    if (key) {
      const scope = requiredScope(req.method, req.baseUrl + req.path);
      if (!allowsScope(key, scope)) throw new AppError(403, `this API key lacks the scope ${scope}`, { scope_needed: scope, scopes: [...key.scopes] });
      limiter?.take(`key:${key.keyId}`);
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

/**
 * With PUBLIC_READ=false, reading the JSON API needs a key with the `read` scope (or any page
 * session). With true (the default, as the original demo's read routes had no key), reads are open.
 */
export function readAccess(keys: ApiKeys, sessions: SessionAuth, publicRead: boolean): RequestHandler {
  return async (req, _res, next) => {
    if (publicRead || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
    const key = keys.identify(req.get('x-api-key'), req.get('authorization'));
    if (key) {
      if (!allowsScope(key, 'read')) throw new AppError(403, 'this API key lacks the scope read', { scope_needed: 'read' });
      return next();
    }
    if (cookieValue(req.get('cookie'), SESSION_COOKIE) && (await sessions.read(req))) return next();
    throw new AppError(401, 'reading the API needs a key with the read scope (PUBLIC_READ is off)');
  };
}
