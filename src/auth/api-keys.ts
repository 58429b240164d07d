import crypto from 'node:crypto';
import { type Clock, AppError, ValidationError } from '../platform';
import type { ApiKeyAuth } from './api-key';
import type { ApiKeysRepository } from './api-keys-repository';

export const SCOPES = ['read', 'events:write', 'datasets:write', 'moves:write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Who presented a key (or a token minted from one), and what it may do. `admin` may do everything. */
export interface KeyIdentity {
  /** The key's id, or `bootstrap` for API_KEY; a token carries its parent key's id. */
  keyId: string;
  scopes: ReadonlySet<Scope>;
  /** A short-lived JWT (POST /api/tokens) rather than the key itself. */
  token?: true;
}

const BOOTSTRAP: KeyIdentity = Object.freeze({ keyId: 'bootstrap', scopes: new Set<Scope>(['admin']) });

export function allowsScope(id: KeyIdentity, scope: Scope): boolean {
  return id.scopes.has('admin') || id.scopes.has(scope);
}

const sha256 = (s: string): Buffer => crypto.createHash('sha256').update(s).digest();
const KEY_FORMAT = /^dim_(\d{1,12})_([A-Za-z0-9_-]{43})$/;

/** The key a request presents: `x-api-key` (the original demo's header) or `Authorization: Bearer`. */
export function presentedKey(header: string | undefined, authorization: string | undefined): string | undefined {
  if (header) return header;
  const m = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  return m?.[1]?.trim();
}

/**
 * API keys with scopes, created and revoked through the API. A key is `dim_<id>_<secret>`, shown
 * once at creation; only the SHA-256 of its secret is stored, compared in constant time. The
 * bootstrap `API_KEY` from the environment is an admin key. Live keys are held in memory, so
 * checking one costs a hash, not a query.
 */
export class ApiKeys {
  readonly name = 'api-keys';
  private readonly live = new Map<number, { hash: Buffer; scopes: ReadonlySet<Scope> }>();
  /**
   * When each key was last used: updated in memory on every use (a write per request would cost
   * ingest) and stored every minute, at revocation and at stop, so it outlives both.
   */
  private readonly lastUsed = new Map<number, number>();
  private readonly unsaved = new Map<number, number>();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly repo: ApiKeysRepository,
    private readonly bootstrap: ApiKeyAuth,
    private readonly clock: Clock,
    private readonly flushIntervalMs = 60_000,
  ) {}

  private reloadTimer: NodeJS.Timeout | undefined;
  private reloadEveryMs: number | undefined;

  async start(): Promise<void> {
    await this.reload();
    this.flushTimer = setInterval(() => void this.flush().catch(() => undefined), this.flushIntervalMs);
    this.flushTimer.unref();
    if (this.reloadEveryMs) {
      this.reloadTimer = setInterval(() => void this.reload().catch(() => undefined), this.reloadEveryMs);
      this.reloadTimer.unref();
    }
  }

  /**
   * With other instances on the database, keys they create or revoke reach this one's memory
   * within `ms` (set before start).
   */
  reloadEvery(ms: number): void {
    this.reloadEveryMs = ms;
  }

  /** The live keys as the database holds them. */
  async reload(): Promise<void> {
    // A key created here while the query runs is not in its answer: only those known before may go.
    const before = new Set(this.live.keys());
    const rows = await this.repo.live();
    const ids = new Set(rows.map((r) => r.id));
    for (const id of before) if (!ids.has(id)) this.live.delete(id);
    for (const r of rows)
      this.live.set(r.id, {
        hash: Buffer.from(r.secret_sha256, 'hex'),
        scopes: new Set(JSON.parse(r.scopes) as Scope[]),
      });
  }

  async stop(): Promise<void> {
    clearInterval(this.flushTimer);
    this.flushTimer = undefined;
    clearInterval(this.reloadTimer);
    this.reloadTimer = undefined;
    await this.flush();
  }

  /** Stores the last-used times noted since the previous flush. */
  async flush(): Promise<void> {
    if (this.unsaved.size === 0) return;
    const batch = new Map(this.unsaved);
    this.unsaved.clear();
    try {
      await this.repo.saveLastUsed(batch);
    } catch (err) {
      // Kept for the next flush, unless a newer use came in the meantime.
      for (const [id, at] of batch) if (!this.unsaved.has(id)) this.unsaved.set(id, at);
      throw err;
    }
  }

  private used(id: number): void {
    const now = this.clock.now();
    this.lastUsed.set(id, now);
    this.unsaved.set(id, now);
  }

  /** The identity behind a presented key, or undefined when it is not a live key. */
  identify(header: string | undefined, authorization: string | undefined): KeyIdentity | undefined {
    if (this.bootstrap.valid(header, authorization)) return BOOTSTRAP;
    const m = KEY_FORMAT.exec(presentedKey(header, authorization) ?? '');
    if (!m) return undefined;
    const k = this.live.get(Number(m[1]));
    if (!k || !crypto.timingSafeEqual(sha256(m[2]!), k.hash)) return undefined;
    this.used(Number(m[1]));
    return { keyId: m[1]!, scopes: k.scopes };
  }

  /** SHA-256 of the bootstrap key (API_KEY): a token minted from it is bound to it, so changing API_KEY ends them. */
  get bootstrapDigest(): Buffer {
    return this.bootstrap.digest;
  }

  /** The scopes of a live key (`bootstrap` included), or undefined once it is revoked: tokens check this on every use. */
  liveScopes(keyId: string): ReadonlySet<Scope> | undefined {
    if (keyId === BOOTSTRAP.keyId) return BOOTSTRAP.scopes;
    const k = this.live.get(Number(keyId));
    if (k) this.used(Number(keyId));
    return k?.scopes;
  }

  async create(name: string, scopes: Scope[]): Promise<{ id: number; key: string; name: string; scopes: Scope[] }> {
    const secret = crypto.randomBytes(32).toString('base64url');
    const id = await this.repo.insert({
      name,
      secret_sha256: sha256(secret).toString('hex'),
      scopes: JSON.stringify(scopes),
      created_at: this.clock.now(),
    });
    this.live.set(id, { hash: sha256(secret), scopes: new Set(scopes) });
    return { id, key: `dim_${id}_${secret}`, name, scopes };
  }

  /** Every key, revoked ones included, with when it was last used (null: never). */
  async list(): Promise<
    {
      id: number;
      name: string;
      scopes: Scope[];
      created_at: string;
      revoked_at: string | null;
      last_used_at: string | null;
    }[]
  > {
    const rows = await this.repo.all();
    return rows.map((r) => {
      const used = this.lastUsed.get(r.id) ?? r.last_used_at;
      return {
        id: r.id,
        name: r.name,
        scopes: JSON.parse(r.scopes) as Scope[],
        created_at: new Date(r.created_at).toISOString(),
        revoked_at: r.revoked_at === null ? null : new Date(r.revoked_at).toISOString(),
        last_used_at: used === null ? null : new Date(used).toISOString(),
      };
    });
  }

  async revoke(id: number): Promise<void> {
    const revoked = await this.repo.revoke(id, this.clock.now());
    this.live.delete(id);
    // Its last use stays on record: who used a key before it was revoked is what an operator asks.
    await this.flush();
    if (!revoked && !(await this.repo.exists(id))) throw AppError.notFound('API key not found', { id });
  }
}

/** Validates `{name, scopes}` for a new key. */
export function parseNewKey(body: unknown): { name: string; scopes: Scope[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ValidationError('body', 'must be a JSON object');
  const o = body as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (k !== 'name' && k !== 'scopes') throw new ValidationError(k, 'unknown field (expected one of: name, scopes)');
  if (typeof o.name !== 'string' || o.name.trim() === '' || o.name.length > 100)
    throw new ValidationError('name', 'must be a non-empty string of at most 100 characters');
  // eslint-disable-next-line no-control-regex -- the point is to refuse control characters
  if (/[\u0000-\u001f\u007f]/.test(o.name)) throw new ValidationError('name', 'must not contain control characters');
  if (!Array.isArray(o.scopes) || o.scopes.length === 0)
    throw new ValidationError('scopes', `must be a non-empty array of: ${SCOPES.join(', ')}`);
  const scopes = o.scopes.map((s, i) => {
    if (typeof s !== 'string' || !(SCOPES as readonly string[]).includes(s))
      throw new ValidationError(`scopes[${i}]`, `must be one of ${SCOPES.join(', ')}`);
    return s as Scope;
  });
  return { name: o.name.trim(), scopes: [...new Set(scopes)] };
}

/**
 * The scope a write request needs, from its method and path: one table for every write route
 * (an unknown write route needs admin, so a new route is never open by accident).
 */
export function requiredScope(method: string, path: string): Scope {
  if (path === '/api/events' || path === '/api/stream/send') return 'events:write';
  if (
    /^\/api\/datasets\/[^/]+\/(moves|migrate|policy)$/.test(path) ||
    path.startsWith('/api/migrate_enqueue/') ||
    path === '/api/scheduler/run'
  )
    return 'moves:write';
  if (method === 'DELETE' && path.startsWith('/api/migrations/')) return 'moves:write';
  if (path === '/api/datasets' || /^\/api\/datasets\/[^/]+(\/content)?$/.test(path)) return 'datasets:write';
  return 'admin';
}
