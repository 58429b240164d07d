import crypto from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { SignJWT, jwtVerify } from 'jose';
import { AppError, type Logger, requestLogger } from '../platform';
import type { SessionUser, UsersService } from './users-service';
import type { Role } from './users.table';

export const SESSION_COOKIE = 'dim_session';
export const CSRF_HEADER = 'x-csrf-token';
/** A plain HTML form (login, logout) carries the token in this field instead of the header. */
export const CSRF_FIELD = '_csrf';

const ISSUER = 'data-in-motion';
const AUDIENCE = 'data-in-motion/pages';

export interface Session {
  user: SessionUser;
  /** The token's id: a logout revokes it. */
  jti: string;
  /** Per-session anti-CSRF token: the pages echo it in the x-csrf-token header. */
  csrf: string;
  /** Expiry, ms since the epoch. */
  expiresAt: number;
}

export interface SessionOptions {
  ttlMs: number;
  /** The public base URL (BASE_URL): an accepted Origin besides the request's own host. */
  baseUrl: string;
}

/** res.locals.session, set by `attach`. */
export function sessionOf(res: Response): Session | undefined {
  return res.locals.session as Session | undefined;
}

/**
 * Page sessions: a JWT (HS256, jose) with an expiry in a signed, HttpOnly, SameSite=Strict
 * cookie. The token names the user; the role is read from the database on every request, so a
 * removed user is out at once. State-changing requests must carry the session's CSRF token
 * and come from this origin.
 */
export class SessionAuth {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly users: UsersService,
    private readonly key: Uint8Array,
    private readonly opts: SessionOptions,
    private readonly logger: Logger,
  ) {}

  /** Signs a new session for `user` and sets its cookie. */
  async issue(req: Request, res: Response, user: SessionUser): Promise<Session> {
    const now = Date.now();
    const session: Session = {
      user,
      jti: crypto.randomUUID(),
      csrf: crypto.randomBytes(32).toString('base64url'),
      expiresAt: now + this.opts.ttlMs,
    };
    // `cred`: the password's time when this session began; a later reset ends the session.
    const token = await new SignJWT({ csrf: session.csrf, cred: user.credentialsAt })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(String(user.id))
      .setJti(session.jti)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(session.expiresAt / 1000))
      .sign(this.key);
    res.append('Set-Cookie', this.cookie(req, token, Math.floor(this.opts.ttlMs / 1000)));
    return session;
  }

  /** The session the request's cookie holds, if it is valid, unexpired, not revoked and its user exists. */
  async read(req: Request): Promise<Session | undefined> {
    const token = cookieValue(req.get('cookie'), SESSION_COOKIE);
    if (!token) return undefined;
    try {
      // Only HS256 is accepted: `alg: none` and any other algorithm are refused by jose here.
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: AUDIENCE,
        requiredClaims: ['exp', 'jti', 'sub'],
      });
      const id = Number(payload.sub);
      if (!Number.isSafeInteger(id) || typeof payload.csrf !== 'string' || typeof payload.jti !== 'string')
        return undefined;
      if (await this.users.isRevoked(payload.jti)) return undefined;
      const user = await this.users.byId(id);
      if (!user) return undefined;
      // Signed in under an earlier password (it was reset since): over. Sessions from before this
      // claim existed count from when they were issued.
      const cred = payload.cred;
      if (typeof cred === 'number' ? cred !== user.credentialsAt : (payload.iat ?? 0) * 1000 < user.credentialsAt)
        return undefined;
      return { user, jti: payload.jti, csrf: payload.csrf, expiresAt: payload.exp! * 1000 };
    } catch (err) {
      (req.res ? requestLogger(req.res, this.logger) : this.logger).debug('auth.session_rejected', {
        reason: (err as Error).name,
      });
      return undefined;
    }
  }

  /** Reads the session into res.locals.session; a cookie that no longer holds one is cleared. */
  readonly attach: RequestHandler = async (req, res, next) => {
    const session = await this.read(req);
    res.locals.session = session;
    if (!session && cookieValue(req.get('cookie'), SESSION_COOKIE)) res.append('Set-Cookie', this.cookie(req, '', 0));
    next();
  };

  /** Pages: without a session, to the login page (HTMX requests are told to go there). */
  readonly requirePage: RequestHandler = (req, res, next) => {
    if (sessionOf(res)) return next();
    const to = `/login?next=${encodeURIComponent(req.originalUrl)}`;
    if (req.get('hx-request')) {
      res.setHeader('HX-Redirect', '/login');
      res.status(401).send('');
      return;
    }
    res.redirect(303, to);
  };

  /** A page request that needs a role; a state-changing one must also come from this origin with its CSRF token. */
  requireRole(role: Role): RequestHandler {
    return (req, res, next) => {
      const s = sessionOf(res);
      if (!s)
        throw new AppError(401, 'sign in first: no valid session', { login: '/login' }, { 'HX-Redirect': '/login' });
      if (req.method !== 'GET' && req.method !== 'HEAD') this.checkUnsafe(req, s, req.body);
      if (!allows(s.user.role, role))
        throw new AppError(403, `your role (${s.user.role}) may not do this: it needs ${role}`, { role: s.user.role });
      next();
    };
  }

  /**
   * Anti-CSRF for a cookie-authenticated write: the Origin (or, lacking it, the Referer) must be
   * this site, and the x-csrf-token header (or the `_csrf` form field) must match the session's.
   */
  checkUnsafe(req: Request, s: Session, body?: unknown): void {
    if (!this.sameOrigin(req)) throw new AppError(403, 'origin: cross-site request refused', { field: 'origin' });
    const fromForm =
      typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[CSRF_FIELD] : undefined;
    const given = req.get(CSRF_HEADER) ?? (typeof fromForm === 'string' ? fromForm : undefined);
    if (!given) throw new AppError(403, `${CSRF_HEADER}: missing CSRF token`, { field: CSRF_HEADER });
    const a = crypto.createHash('sha256').update(given).digest();
    const b = crypto.createHash('sha256').update(s.csrf).digest();
    if (!crypto.timingSafeEqual(a, b))
      throw new AppError(403, `${CSRF_HEADER}: CSRF token does not match the session`, { field: CSRF_HEADER });
  }

  /** The request comes from a page of this site (login forms are checked too). */
  sameOrigin(req: Request): boolean {
    const origin = req.get('origin') ?? originOf(req.get('referer'));
    if (!origin) return false;
    const own = [`${req.protocol}://${req.get('host') ?? ''}`, originOf(this.opts.baseUrl)];
    return own.includes(origin);
  }

  /** Ends the session: the cookie is cleared and its token refused from now on. */
  async logout(req: Request, res: Response, s: Session | undefined): Promise<void> {
    if (s) await this.users.revoke(s.jti, s.expiresAt);
    res.append('Set-Cookie', this.cookie(req, '', 0));
    if (s) requestLogger(res, this.logger).info('auth.logout', { user_id: s.user.id, username: s.user.username });
  }

  // --- brute-force brake: five failures for a name (or from an address) pause it 5 minutes ---

  throttled(keys: string[]): boolean {
    const now = Date.now();
    return keys.some((k) => {
      const f = this.failures.get(k);
      return f !== undefined && f.count >= 5 && now - f.since < 5 * 60_000;
    });
  }

  recordFailure(keys: string[]): void {
    const now = Date.now();
    if (this.failures.size > 10_000) this.failures.clear(); // bounded memory under a spray
    for (const k of keys) {
      const f = this.failures.get(k);
      if (!f || now - f.since >= 5 * 60_000) this.failures.set(k, { count: 1, since: now });
      else f.count++;
    }
  }

  clearFailures(keys: string[]): void {
    for (const k of keys) this.failures.delete(k);
  }

  private cookie(req: Request, value: string, maxAgeSeconds: number): string {
    const secure = req.secure || this.opts.baseUrl.startsWith('https:');
    return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
  }
}

/** Operators may do what viewers may, and more. */
export function allows(have: Role, need: Role): boolean {
  return need === 'viewer' || have === 'operator';
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

function originOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
