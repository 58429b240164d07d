import { AppError } from '../platform';

/**
 * Per-caller token buckets for write routes: each caller (an API key, a page user) may make
 * `perSecond` requests a second on average, in bursts of up to `burst`. Past that, 429 with the
 * seconds until one more request is allowed. Buckets of callers idle long enough to be full again
 * are dropped, so memory follows the number of active callers.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private lastSweep = 0;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  get enabled(): boolean {
    return this.perSecond > 0;
  }

  /** Takes one request's token for `caller`, or throws 429 with Retry-After. */
  take(caller: string): void {
    if (!this.enabled) return;
    const t = this.now();
    const b = this.buckets.get(caller) ?? { tokens: this.burst, at: t };
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.perSecond);
    b.at = t;
    if (b.tokens < 1) {
      this.buckets.set(caller, b);
      const wait = Math.max(1, Math.ceil((1 - b.tokens) / this.perSecond));
      throw AppError.tooMany(
        `rate limit: at most ${this.perSecond} write requests a second (bursts of ${this.burst}) per key or user; retry in ${wait} s`,
        wait,
      );
    }
    b.tokens -= 1;
    this.buckets.set(caller, b);
    if (t - this.lastSweep > 60_000) this.sweep(t);
  }

  private sweep(t: number): void {
    this.lastSweep = t;
    const full = (this.burst / this.perSecond) * 1000;
    for (const [k, b] of this.buckets) if (t - b.at > full) this.buckets.delete(k);
  }
}
