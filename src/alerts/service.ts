import { type Fence, isWriteRefused } from '../db';
import { AppError, type Clock, type Logger, oneAtATime, type Service } from '../platform';
import { type Condition, type ConditionSources, gatherConditions } from './conditions';
import type { AlertRepository, AlertRow } from './repository';
import type { WebhookSender } from './webhook';

export interface AlertServiceDeps {
  repo: AlertRepository;
  sources: Omit<ConditionSources, 'repo'>;
  /** Acknowledging the stream-gap alert acknowledges these gaps. */
  acknowledgeGap: (id: number, by: string) => Promise<void>;
  /**
   * Several instances share the database (PostgreSQL): only the holder of this lease checks, so
   * one instance opens and closes each alert (two checking at once would open it twice, or one
   * close what another's own readiness opened, and the webhook would hear each flap); absent, this
   * instance is the only one.
   */
  leadership?: { acquire(): Promise<boolean>; fence: Fence };
  /** Set when ALERT_WEBHOOK_URL is (a service of its own: started and stopped beside this one). */
  webhook: Pick<WebhookSender, 'send'> | undefined;
  /** Closed alerts are deleted this long after they closed, and the oldest closed ones beyond maxRows. */
  retention: { maxAgeMs: number; maxRows: number };
  clock: Clock;
  logger: Logger;
  intervalMs: number;
}

export interface AlertView {
  id: number;
  key: string;
  severity: AlertRow['severity'];
  title: string;
  detail: string;
  opened_at: string;
  closed_at: string | null;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
}

const EVENT_KEYS = new Set(['moves.failed', 'integrity.failed', 'stream.gap']);
const PRUNE_EVERY_MS = 3_600_000;

/**
 * Alerts: every `intervalMs` the conditions are gathered; an alert opens when one appears and
 * closes when it is gone, each opening and closing posted once to the webhook (if any) without
 * waiting for it. Operators acknowledge: an event kind is then closed and its events covered,
 * a state kind stays open (shown as acknowledged) until the state clears.
 */
export class AlertService implements Service {
  readonly name = 'alerts';
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private prunedAt = 0;
  readonly evaluate = oneAtATime(() => this.evaluateOnce());

  constructor(private readonly deps: AlertServiceDeps) {}

  async start(): Promise<void> {
    this.stopped = false;
    // The first check waits one interval: parts that were just started (the consumer catching up) settle first.
    this.arm(this.deps.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.evaluate.idle();
  }

  private arm(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.evaluate()
        .catch(() => undefined)
        .finally(() => this.arm(this.deps.intervalMs));
    }, delay);
    this.timer.unref();
  }

  private async evaluateOnce(): Promise<void> {
    try {
      if (this.deps.leadership && !(await this.deps.leadership.acquire())) return;
      const gatheredAt = this.deps.clock.now();
      const conditions = await gatherConditions({ ...this.deps.sources, repo: this.deps.repo });
      await this.reconcile(conditions, gatheredAt);
      // Retention: at the first check and then hourly (wall clock).
      if (Date.now() - this.prunedAt >= PRUNE_EVERY_MS) await this.prune();
    } catch (err) {
      // A refused write was logged by the lease's fence: this instance is no longer the checker.
      if (!isWriteRefused(err)) this.deps.logger.error('alerts.check_failed', { error: err as Error });
      throw err;
    }
  }

  private async reconcile(conditions: Condition[], gatheredAt: number): Promise<void> {
    const now = this.deps.clock.now();
    const open = new Map((await this.deps.repo.open()).map((a) => [a.key, a]));
    for (const c of conditions) {
      const a = open.get(c.key);
      open.delete(c.key);
      if (!a) {
        // Closed while the conditions were gathered (an operator acknowledged it, here or on another
        // instance): what was gathered predates that, so the next check decides, not this one.
        if (await this.deps.repo.closedSince(c.key, gatheredAt)) continue;
        const row = await this.deps.repo.insert(
          {
            key: c.key,
            severity: c.severity,
            title: c.title,
            detail: c.detail,
            watermark: c.watermark,
            opened_at: now,
          },
          this.deps.leadership?.fence,
        );
        this.deps.logger.warn('alerts.opened', { alert_id: row.id, key: c.key, title: c.title });
        await this.post('alert.opened', row);
      } else if (a.title !== c.title || a.detail !== c.detail || a.watermark !== c.watermark) {
        await this.deps.repo.update(
          a.id,
          { title: c.title, detail: c.detail, watermark: c.watermark },
          this.deps.leadership?.fence,
        );
      }
    }
    for (const a of open.values()) await this.close(a, now, this.deps.leadership?.fence);
  }

  /** `fence`: the check's closes (an operator's acknowledgement closes from any instance). */
  private async close(a: AlertRow, now: number, fence?: Fence): Promise<void> {
    // Closed once: an acknowledgement and a check that race close it one time between them.
    const row = await this.deps.repo.close(a.id, now, fence);
    if (!row) return;
    this.deps.logger.info('alerts.closed', { alert_id: a.id, key: a.key });
    await this.post('alert.closed', row);
  }

  /** Deletes what the retention says is over (see AlertRepository.prune); how many went. */
  async prune(): Promise<number> {
    const { maxAgeMs, maxRows } = this.deps.retention;
    this.prunedAt = Date.now();
    const gone = await this.deps.repo.prune(this.deps.clock.now() - maxAgeMs, maxRows, this.deps.leadership?.fence);
    if (gone > 0) this.deps.logger.info('alerts.pruned', { alerts: gone });
    return gone;
  }

  /** Into the webhook's outbox: delivered from there, at least once. */
  private async post(event: 'alert.opened' | 'alert.closed', row: AlertRow): Promise<void> {
    const message = { event, alert: alertView(row), sent_at: new Date().toISOString() };
    await this.deps.webhook?.send(message).catch((err: unknown) => {
      this.deps.logger.error('alerts.webhook_enqueue_failed', { alert_id: row.id, event, error: err as Error });
    });
  }

  async open(): Promise<AlertView[]> {
    return (await this.deps.repo.open()).map(alertView);
  }

  async recent(limit: number): Promise<AlertView[]> {
    return (await this.deps.repo.recent(limit)).map(alertView);
  }

  /**
   * `by` names who (`user:NAME`, `key:NAME`). 404 for no such alert, 409 for one already closed
   * or acknowledged.
   */
  async acknowledge(id: number, by: string): Promise<AlertView> {
    const a = await this.deps.repo.get(id);
    if (!a) throw AppError.notFound(`no alert ${id}`);
    if (a.closed_at !== null || a.acknowledged_at !== null)
      throw AppError.conflict(`alert ${id} is ${a.closed_at !== null ? 'closed' : 'acknowledged'} already`);
    const now = this.deps.clock.now();
    if (a.key === 'stream.gap') {
      const gaps = await this.deps.sources.gaps();
      for (const g of gaps.filter((x) => x.id <= a.watermark))
        await this.deps.acknowledgeGap(g.id, by).catch(() => undefined);
    }
    let row = (await this.deps.repo.update(id, { acknowledged_at: now, acknowledged_by: by }))!;
    this.deps.logger.info('alerts.acknowledged', { alert_id: id, key: a.key, by });
    // An event kind is over once someone has seen it: its events are covered, it closes now.
    if (EVENT_KEYS.has(a.key)) {
      await this.close(row, now);
      row = (await this.deps.repo.get(id))!;
    }
    return alertView(row);
  }
}

export function alertView(a: AlertRow): AlertView {
  const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());
  return {
    id: a.id,
    key: a.key,
    severity: a.severity,
    title: a.title,
    detail: a.detail,
    opened_at: new Date(a.opened_at).toISOString(),
    closed_at: iso(a.closed_at),
    acknowledged_at: iso(a.acknowledged_at),
    acknowledged_by: a.acknowledged_by,
  };
}
