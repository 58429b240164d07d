import crypto from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { AppError, ValidationError } from '../platform';
import { allowsScope, SCOPES, type ApiKeys, type KeyIdentity, type Scope } from './api-keys';

export const TOKEN_ISSUER = 'data-in-motion';
export const TOKEN_AUDIENCE = 'data-in-motion/api';

/**
 * The key that signs API tokens, derived from the session key with HKDF (SHA-256) under its own
 * label: a page session token can never verify as an API token, nor the other way round, even
 * before the audience is checked.
 */
export function apiTokenKey(sessionKey: Uint8Array): Uint8Array {
  return new Uint8Array(crypto.hkdfSync('sha256', sessionKey, new Uint8Array(0), 'data-in-motion/api-tokens v1', 32));
}

/** A JWT is three base64url parts: `a.b.c`. API keys (`dim_<id>_<secret>`) never hold a dot. */
export function looksLikeJwt(s: string): boolean {
  const first = s.indexOf('.');
  return first > 0 && s.indexOf('.', first + 1) > first;
}

export interface IssuedToken {
  token: string;
  token_type: 'Bearer';
  expires_at: string;
  expires_in: number;
  scopes: Scope[];
}

/**
 * Short-lived JWTs for API clients (HS256, jose), minted from an API key: `sub` is the key's id,
 * `scope` a subset of the key's scopes, `exp` at most `maxTtlMs` away. Verifying one checks the
 * signature, issuer, audience and expiry, then that the parent key is still live, so revoking a
 * key ends its tokens at once.
 */
export class ApiTokens {
  constructor(
    private readonly key: Uint8Array,
    private readonly keys: ApiKeys,
    private readonly opts: { ttlMs: number; maxTtlMs: number },
  ) {}

  /** `{scopes?, ttl_seconds?}`: 400 naming a bad field, 403 naming a scope the key lacks. */
  async issue(parent: KeyIdentity, body: unknown): Promise<IssuedToken> {
    if (parent.token)
      throw new AppError(403, 'a token cannot mint tokens: present the API key itself', { field: 'authorization' });
    const req = parseTokenRequest(body, Math.floor(this.opts.maxTtlMs / 1000));
    const scopes = req.scopes ?? [...parent.scopes];
    for (const s of scopes) {
      if (!allowsScope(parent, s))
        throw new AppError(403, `scopes: this API key lacks the scope ${s}`, {
          field: 'scopes',
          scope_needed: s,
          scopes: [...parent.scopes],
        });
    }
    // Token times are wall-clock seconds: clients and jose check `exp` against real time.
    const now = Math.floor(Date.now() / 1000);
    const ttl = req.ttlSeconds ?? Math.floor(this.opts.ttlMs / 1000);
    const claims: Record<string, string> = { scope: scopes.join(' ') };
    if (parent.keyId === BOOTSTRAP_ID) claims.bkf = this.bootstrapFingerprint();
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject(parent.keyId)
      .setJti(crypto.randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + ttl)
      .sign(this.key);
    return {
      token,
      token_type: 'Bearer',
      expires_at: new Date((now + ttl) * 1000).toISOString(),
      expires_in: ttl,
      scopes,
    };
  }

  /**
   * Binds a token minted from the bootstrap key to the current API_KEY: an HMAC (under the token
   * key, so it says nothing about API_KEY to anyone without that key) of its digest.
   */
  private bootstrapFingerprint(): string {
    this.bkf ??= crypto
      .createHmac('sha256', this.key)
      .update('bootstrap-key:')
      .update(this.keys.bootstrapDigest)
      .digest('base64url')
      .slice(0, 22);
    return this.bkf;
  }

  private bkf: string | undefined;

  /** The identity a token stands for; 401 saying why for any token that is not good now. */
  async verify(token: string): Promise<KeyIdentity> {
    let payload: JWTPayload;
    try {
      // Only HS256: `alg: none` and every other algorithm are refused before the signature is looked at.
      ({ payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      throw new AppError(401, `bearer token refused: ${reason(err)}`, { field: 'authorization' });
    }
    const scopeClaim = payload.scope;
    if (typeof payload.sub !== 'string' || typeof scopeClaim !== 'string')
      throw new AppError(401, 'bearer token refused: malformed claims', { field: 'authorization' });
    const live = this.keys.liveScopes(payload.sub);
    if (!live) throw new AppError(401, 'bearer token refused: its API key was revoked', { field: 'authorization' });
    if (payload.sub === BOOTSTRAP_ID && !sameText(payload.bkf, this.bootstrapFingerprint())) {
      throw new AppError(401, 'bearer token refused: it was minted from an API_KEY that is no longer configured', {
        field: 'authorization',
      });
    }
    const scopes = new Set<Scope>();
    // Never more than the key holds now (issue() checked it; this keeps it true whatever signed the token).
    for (const s of scopeClaim.split(' '))
      if ((SCOPES as readonly string[]).includes(s) && (live.has('admin') || live.has(s as Scope)))
        scopes.add(s as Scope);
    return { keyId: payload.sub, scopes, token: true };
  }
}

const BOOTSTRAP_ID = 'bootstrap';

function sameText(a: unknown, b: string): boolean {
  if (typeof a !== 'string') return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

function reason(err: unknown): string {
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'algorithm not allowed (only HS256 is accepted)';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature does not verify';
  if (err instanceof joseErrors.JWTExpired) return 'expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return `wrong audience (expected ${TOKEN_AUDIENCE})`;
    if (err.claim === 'iss') return `wrong issuer (expected ${TOKEN_ISSUER})`;
    return `claim ${err.claim}: ${err.reason}`;
  }
  if (err instanceof joseErrors.JOSENotSupported) return 'algorithm not supported';
  return 'malformed token';
}

function parseTokenRequest(body: unknown, maxTtlSeconds: number): { scopes?: Scope[]; ttlSeconds?: number } {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new ValidationError('body', 'must be a JSON object');
  const o = body as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (k !== 'scopes' && k !== 'ttl_seconds')
      throw new ValidationError(k, 'unknown field (expected one of: scopes, ttl_seconds)');
  const out: { scopes?: Scope[]; ttlSeconds?: number } = {};
  if (o.scopes !== undefined) {
    if (!Array.isArray(o.scopes) || o.scopes.length === 0)
      throw new ValidationError('scopes', `must be a non-empty array of: ${SCOPES.join(', ')}`);
    out.scopes = [
      ...new Set(
        o.scopes.map((s, i) => {
          if (typeof s !== 'string' || !(SCOPES as readonly string[]).includes(s))
            throw new ValidationError(`scopes[${i}]`, `must be one of ${SCOPES.join(', ')}`);
          return s as Scope;
        }),
      ),
    ];
  }
  if (o.ttl_seconds !== undefined) {
    const t = o.ttl_seconds;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 10 || t > maxTtlSeconds)
      throw new ValidationError('ttl_seconds', `must be a whole number of seconds from 10 to ${maxTtlSeconds}`);
    out.ttlSeconds = t;
  }
  return out;
}
