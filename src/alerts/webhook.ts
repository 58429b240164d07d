import type { Logger } from '../platform';

export interface WebhookDeps {
  url: string;
  logger: Logger;
  /** First retry after this long, doubling each time up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Attempts per message before it is dropped (logged). */
  maxAttempts?: number;
  timeoutMs?: number;
  /** Messages waiting at most; past it the oldest is dropped (logged). */
  maxQueued?: number;
}

/**
 * Posts alert messages as JSON to one URL, in order, each retried with exponential backoff. It
 * never blocks its caller: send() queues and returns; a receiver that is down delays only the
 * messages behind it.
 */
export class WebhookSender {
  private readonly queue: { body: string; attempts: number }[] = [];
  private pumping: Promise<void> | undefined;
  private stopped = false;
  private readonly abort = new AbortController();
  private wakeTimer: { timer: NodeJS.Timeout; resolve: () => void } | undefined;

  constructor(private readonly deps: WebhookDeps) {}

  send(message: unknown): void {
    if (this.stopped) return;
    this.queue.push({ body: JSON.stringify(message), attempts: 0 });
    const max = this.deps.maxQueued ?? 1_000;
    while (this.queue.length > max) {
      this.queue.shift();
      this.deps.logger.warn('alerts.webhook_dropped', { reason: 'queue full', max });
    }
    this.pumping ??= this.pump().finally(() => (this.pumping = undefined));
  }

  /** Messages not delivered yet. */
  get pending(): number {
    return this.queue.length;
  }

  /** Stops retrying; a POST under way is aborted. Messages still queued are dropped (logged). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    if (this.wakeTimer) {
      clearTimeout(this.wakeTimer.timer);
      this.wakeTimer.resolve();
    }
    await this.pumping;
    if (this.queue.length > 0) this.deps.logger.warn('alerts.webhook_undelivered', { messages: this.queue.length });
  }

  private async pump(): Promise<void> {
    const base = this.deps.baseDelayMs ?? 1_000;
    const maxDelay = this.deps.maxDelayMs ?? 60_000;
    const maxAttempts = this.deps.maxAttempts ?? 10;
    while (!this.stopped && this.queue.length > 0) {
      const m = this.queue[0]!;
      m.attempts++;
      const error = await this.post(m.body);
      if (error === null) {
        this.queue.shift();
        continue;
      }
      if (m.attempts >= maxAttempts) {
        this.queue.shift();
        this.deps.logger.error('alerts.webhook_failed', { attempts: m.attempts, error });
        continue;
      }
      const delay = Math.min(maxDelay, base * 2 ** (m.attempts - 1));
      this.deps.logger.warn('alerts.webhook_retry', { attempt: m.attempts, in_ms: delay, error });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wakeTimer = { timer, resolve };
      });
      this.wakeTimer = undefined;
    }
  }

  /** null when delivered (a 2xx), else why not. */
  private async post(body: string): Promise<string | null> {
    try {
      const res = await fetch(this.deps.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.deps.timeoutMs ?? 5_000)]),
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.ok ? null : `HTTP ${res.status}`;
    } catch (err) {
      return (err as Error).message;
    }
  }
}
