import type { PagesRepository } from './repository';

/**
 * The overview's summary sums every dataset (a scan of 100,000 rows costs about 150 ms), and an
 * open tab asks for it every 2 s. It is kept and served again while nothing it depends on
 * changed: the catalog version and a fingerprint of the datasets and the move queue that
 * indexes answer in about a millisecond. What the fingerprint cannot see (a declared size
 * edited in place, content replaced) shows within `ttlMs`.
 */
export class SummaryCache<T> {
  private held: { key: string; at: number; value: Promise<T> } | undefined;

  constructor(
    private readonly deps: {
      repo: Pick<PagesRepository, 'changeFingerprint'>;
      compute: () => Promise<T>;
      catalogVersion: () => number;
      ttlMs?: number;
      now?: () => number;
    },
  ) {}

  async get(): Promise<T> {
    const now = (this.deps.now ?? Date.now)();
    const key = `${this.deps.catalogVersion()}|${await this.deps.repo.changeFingerprint()}`;
    const held = this.held;
    if (held && held.key === key && now - held.at < (this.deps.ttlMs ?? 30_000)) return held.value;
    const value = this.deps.compute();
    this.held = { key, at: now, value };
    // A failed computation is not kept: the next poll tries again.
    value.catch(() => {
      if (this.held?.value === value) this.held = undefined;
    });
    return value;
  }
}

/**
 * A value kept for `ttlMs` (a sum over every dataset's statistics, say: about 10 ms at 100,000
 * datasets, asked for by every open tab every 2 s). Concurrent asks share one computation.
 */
export class TtlMemo<T> {
  private held: { at: number; value: Promise<T> } | undefined;

  constructor(
    private readonly compute: () => Promise<T>,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(): Promise<T> {
    const now = this.now();
    if (this.held && now - this.held.at < this.ttlMs) return this.held.value;
    const value = this.compute();
    this.held = { at: now, value };
    value.catch(() => {
      if (this.held?.value === value) this.held = undefined;
    });
    return value;
  }
}
