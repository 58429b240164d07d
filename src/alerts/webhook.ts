import { type Fence, isWriteRefused } from '../db';
import { type Logger, type Service, Signal } from '../platform';
import type { OutboxRepository } from './outbox-repository';

export interface WebhookDeps {
  url: string;
  /** The posts not delivered yet, in the database. */
  outbox: OutboxRepository;
  logger: Logger;
  /**
   * Several instances share the database (PostgreSQL): only the holder of this lease delivers,
   * so a post goes out from one of them, and each attempt is claimed under its fence before the
   * POST; absent, this instance is the only one.
   */
  leadership?: { acquire(): Promise<boolean>; fence: Fence };
  /** First retry after this long, doubling each time up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A post still undelivered this long after it was written is dropped (logged). */
  maxAgeMs?: number;
  timeoutMs?: number;
  /** Posts waiting at most; past it the oldest are dropped (logged). */
  maxQueued?: number;
  /** How often the outbox is looked at when nothing wakes it (posts written by other instances, leadership). */
  pollMs?: number;
}

/** A claim outlasts its POST's timeout by this much, so the POST is over before another instance may claim it. */
const CLAIM_MARGIN_MS = 1_000;

const DEFAULTS = {
  baseDelayMs: 1_000,
  maxDelayMs: 60_000,
  maxAgeMs: 24 * 3_600_000,
  timeoutMs: 5_000,
  maxQueued: 1_000,
  pollMs: 5_000,
};

/**
 * Posts alert messages as JSON to one URL, in order, at least once: send() writes the message to
 * the outbox table and returns; the delivery loop posts the oldest one, deletes it on a 2xx, and
 * otherwise retries it with exponential backoff, across restarts (the outbox outlives the
 * process). Each attempt is claimed in the database first (fenced by the lease), and the POST
 * ends (its timeout) before the claim runs out, so two instances never post one message at once,
 * nor a stale one after a takeover. At least once remains: a POST that succeeded just before a
 * crash (or a lost connection) and was not yet marked is sent again. Times are wall clock: the
 * demo's accelerated clock must not shorten a backoff.
 */
export class WebhookSender implements Service {
  readonly name = 'alert-webhook';
  private readonly o: typeof DEFAULTS;
  private readonly wake = new Signal();
  private loop: Promise<void> | undefined;
  private stopped = false;
  /** A post was written while the loop was busy: look again before sleeping. */
  private kicked = false;
  private abort = new AbortController();

  constructor(private readonly deps: WebhookDeps) {
    this.o = { ...DEFAULTS, ...definedOnly(deps) };
  }

  async send(message: unknown): Promise<void> {
    await this.deps.outbox.add(JSON.stringify(message), Date.now());
    const dropped = await this.deps.outbox.trim(this.o.maxQueued);
    if (dropped > 0) this.deps.logger.warn('alerts.webhook_dropped', { reason: 'outbox full', messages: dropped });
    this.kicked = true;
    this.wake.notify();
  }

  /** Posts not delivered yet (every instance's). */
  pending(): Promise<number> {
    return this.deps.outbox.count();
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.abort = new AbortController();
    this.loop = this.deliver();
  }

  /** A post under way is aborted; what is not delivered stays in the outbox for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.wake.notify();
    await this.loop;
    this.loop = undefined;
    const left = await this.deps.outbox.count().catch(() => 0);
    if (left > 0) this.deps.logger.info('alerts.webhook_pending', { messages: left });
  }

  private async deliver(): Promise<void> {
    while (!this.stopped) {
      this.kicked = false;
      const wait = await this.once().catch((err: unknown) => {
        // A refused claim was logged by the lease's fence (once).
        if (!isWriteRefused(err)) this.deps.logger.warn('alerts.webhook_outbox_failed', { error: err as Error });
        return this.o.pollMs;
      });
      if (wait > 0 && !this.stopped && !this.kicked) await this.wake.wait(wait);
    }
  }

  /** Tries the oldest post if it is due; how long to wait before looking again (0: at once). */
  private async once(): Promise<number> {
    const { outbox, logger, leadership } = this.deps;
    if (leadership && !(await leadership.acquire())) return this.o.pollMs;
    const m = await outbox.head();
    if (!m) return this.o.pollMs;
    const now = Date.now();
    if (m.next_at > now) return Math.min(m.next_at - now, this.o.pollMs);
    const until = now + this.o.timeoutMs + CLAIM_MARGIN_MS;
    if (!(await outbox.claim(m.id, now, until, leadership?.fence))) return 0;
    // Paused between the claim and here (a long GC, SIGSTOP) past the margin: another instance may
    // claim it before this POST would end, so it is left to the next attempt.
    const left = until - CLAIM_MARGIN_MS - Date.now();
    if (left <= 0) {
      logger.warn('alerts.webhook_claim_expired', { delivery_id: m.id });
      return 0;
    }
    const error = await this.post(m.id, m.body, Math.min(left, this.o.timeoutMs));
    if (this.stopped && error !== null) return 0;
    const attempts = m.attempts + 1;
    if (error === null) {
      await outbox.delivered(m.id);
      return 0;
    }
    if (Date.now() - m.created_at >= this.o.maxAgeMs) {
      await outbox.delivered(m.id);
      logger.error('alerts.webhook_failed', { attempts, error, age_ms: Date.now() - m.created_at });
      return 0;
    }
    const delay = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** (attempts - 1));
    await outbox.failed(m.id, until, Date.now() + delay, error);
    logger.warn('alerts.webhook_retry', { attempt: attempts, in_ms: delay, error });
    return Math.min(delay, this.o.pollMs);
  }

  /**
   * null when delivered (a 2xx), else why not. A post sent again (at least once) carries the same
   * delivery id, so a receiver can drop the repeat.
   */
  private async post(id: number, body: string, timeoutMs: number): Promise<string | null> {
    try {
      const res = await fetch(this.deps.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-delivery-id': String(id) },
        body,
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(timeoutMs)]),
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.ok ? null : `HTTP ${res.status}`;
    } catch (err) {
      return (err as Error).message;
    }
  }
}

function definedOnly(deps: WebhookDeps): Partial<typeof DEFAULTS> {
  return Object.fromEntries(
    Object.keys(DEFAULTS)
      .map((k) => [k, deps[k as keyof WebhookDeps]])
      .filter(([, v]) => v !== undefined),
  ) as Partial<typeof DEFAULTS>;
}
