import type { Request, RequestHandler, Response } from 'express';
import { AppError } from '../platform';
import { allowsScope, presentedKey, requiredScope, type ApiKeys, type KeyIdentity } from './api-keys';
import { looksLikeJwt, type ApiTokens } from './api-tokens';
import type { RateLimiter } from './rate-limit';
import { SESSION_COOKIE, allows, cookieValue, type SessionAuth } from './sessions';

/** What an API caller may present: an API key, or a short-lived token minted from one. */
export interface ApiCallers {
  keys: ApiKeys;
  tokens: ApiTokens;
}

/**
 * The identity behind the request's key or token. A plain key is checked synchronously (a hash
 * and a map lookup: the ingest fast path); only a bearer value shaped like a JWT (two dots) pays
 * for a signature check, and a bad token throws 401 saying why. undefined: no credential, or a
 * key that is not live.
 */
export function identifyCaller(c: ApiCallers, req: Request): KeyIdentity | undefined | Promise<KeyIdentity> {
  const header = req.get('x-api-key');
  const authorization = req.get('authorization');
  if (!header && authorization) {
    const p = presentedKey(undefined, authorization);
    // A bootstrap API_KEY may contain dots too: it is tried first (one hash).
    if (p && looksLikeJwt(p)) return c.keys.identify(undefined, authorization) ?? c.tokens.verify(p);
  }
  return c.keys.identify(header, authorization);
}

/** Who passed writeAccess, for log lines: `key:<id>` (a token names its key) or `user:<name>`. */
export function callerOf(res: Response): string | undefined {
  const c: unknown = res.locals.caller;
  return typeof c === 'string' ? c : undefined;
}

function lacks(who: KeyIdentity, scope: string): AppError {
  return new AppError(403, `this API ${who.token ? 'token' : 'key'} lacks the scope ${scope}`, {
    scope_needed: scope,
    scopes: [...who.scopes],
  });
}

/**
 * The one gate of every JSON write route: an API key (`x-api-key` or `Authorization: Bearer`)
 * or a token minted from one, holding the scope the route needs (see requiredScope), or a page
 * session — from this origin, with its CSRF token — whose user is an operator. Then the
 * caller's rate limit (a token counts against its key). A key without the scope, or a viewer's
 * session, gets 403; no key and no session, 401.
 */
export function writeAccess(callers: ApiCallers, sessions: SessionAuth, limiter?: RateLimiter): RequestHandler {
  return async (req, res, next) => {
    // Already let through before its body was read (see writeAccessBeforeBody).
    if (res.locals.caller !== undefined) return next();
    const found = identifyCaller(callers, req);
    const key = found instanceof Promise ? await found : found;
    if (key) {
      const scope = requiredScope(req.method, req.baseUrl + req.path);
      if (!allowsScope(key, scope)) throw lacks(key, scope);
      limiter?.take(`key:${key.keyId}`);
      res.locals.caller = `key:${key.keyId}`;
      return next();
    }
    if (!cookieValue(req.get('cookie'), SESSION_COOKIE)) throw new AppError(401, 'Invalid API key');
    const s = await sessions.read(req);
    if (!s) throw new AppError(401, 'session expired or invalid: sign in again', { login: '/login' });
    sessions.checkUnsafe(req, s);
    if (!allows(s.user.role, 'operator'))
      throw new AppError(403, `your role (${s.user.role}) may not change anything: it needs operator`, {
        role: s.user.role,
      });
    limiter?.take(`user:${s.user.username}`);
    res.locals.caller = `user:${s.user.username}`;
    next();
  };
}

/**
 * The write gate, run on every state-changing `/api` request before any body is read: an
 * anonymous client or a key without the scope is refused at once instead of streaming its body
 * first. `POST /api/tokens` needs any live key (its scopes are checked when the token is issued).
 * The routes keep their own `writeAccess`, which lets through a request that already passed.
 */
export function writeAccessBeforeBody(callers: ApiCallers, requireWrite: RequestHandler): RequestHandler {
  return async (req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    if (req.path !== '/tokens') return requireWrite(req, res, next);
    const found = identifyCaller(callers, req);
    if (!(found instanceof Promise ? await found : found))
      throw new AppError(401, 'an API key is needed (x-api-key or Authorization: Bearer)', { field: 'authorization' });
    next();
  };
}

/**
 * With PUBLIC_READ=false, reading the JSON API (and /metrics) needs a key or token with the
 * `read` scope (or any page session). With true (the default, as the original demo's read
 * routes had no key), reads are open.
 */
export function readAccess(callers: ApiCallers, sessions: SessionAuth, publicRead: boolean): RequestHandler {
  return async (req, _res, next) => {
    if (publicRead || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
    const found = identifyCaller(callers, req);
    const key = found instanceof Promise ? await found : found;
    if (key) {
      if (!allowsScope(key, 'read')) throw lacks(key, 'read');
      return next();
    }
    if (cookieValue(req.get('cookie'), SESSION_COOKIE) && (await sessions.read(req))) return next();
    throw new AppError(401, 'reading the API needs a key with the read scope (PUBLIC_READ is off)');
  };
}

/**
 * Whether this request may see what reads show, without refusing it: for routes open to anyone
 * (a readiness probe) that show more to a reader (the last backup, the master key's fingerprint).
 */
export function readAllowed(callers: ApiCallers, sessions: SessionAuth, publicRead: boolean) {
  return async (req: Request): Promise<boolean> => {
    if (publicRead) return true;
    let key: KeyIdentity | undefined;
    try {
      const found = identifyCaller(callers, req);
      key = found instanceof Promise ? await found : found;
    } catch {
      return false; // a bad token: a probe still gets its answer, without the details
    }
    if (key) return allowsScope(key, 'read');
    return Boolean(cookieValue(req.get('cookie'), SESSION_COOKIE) && (await sessions.read(req)));
  };
}
