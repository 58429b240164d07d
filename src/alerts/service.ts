import { AppError, type Clock, type Logger, oneAtATime, type Service } from '../platform';
import { type Condition, type ConditionSources, gatherConditions } from './conditions';
import type { AlertRepository, AlertRow } from './repository';
import type { WebhookSender } from './webhook';

export interface AlertServiceDeps {
  repo: AlertRepository;
  sources: Omit<ConditionSources, 'repo'>;
  /** Acknowledging the stream-gap alert acknowledges these gaps. */
  acknowledgeGap: (id: number, by: string) => Promise<void>;
  /** Set when ALERT_WEBHOOK_URL is. */
  webhook: WebhookSender | undefined;
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
    await this.deps.webhook?.stop();
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
      const conditions = await gatherConditions({ ...this.deps.sources, repo: this.deps.repo });
      await this.reconcile(conditions);
    } catch (err) {
      this.deps.logger.error('alerts.check_failed', { error: err as Error });
      throw err;
    }
  }

  private async reconcile(conditions: Condition[]): Promise<void> {
    const now = this.deps.clock.now();
    const open = new Map((await this.deps.repo.open()).map((a) => [a.key, a]));
    for (const c of conditions) {
      const a = open.get(c.key);
      open.delete(c.key);
      if (!a) {
        const row = await this.deps.repo.insert({
          key: c.key,
          severity: c.severity,
          title: c.title,
          detail: c.detail,
          watermark: c.watermark,
          opened_at: now,
        });
        this.deps.logger.warn('alerts.opened', { alert_id: row.id, key: c.key, title: c.title });
        this.post('alert.opened', row);
      } else if (a.title !== c.title || a.detail !== c.detail || a.watermark !== c.watermark) {
        await this.deps.repo.update(a.id, { title: c.title, detail: c.detail, watermark: c.watermark });
      }
    }
    for (const a of open.values()) await this.close(a, now);
  }

  private async close(a: AlertRow, now: number): Promise<void> {
    // Closed once: an acknowledgement and a check that race close it one time between them.
    const row = await this.deps.repo.close(a.id, now);
    if (!row) return;
    this.deps.logger.info('alerts.closed', { alert_id: a.id, key: a.key });
    this.post('alert.closed', row);
  }

  private post(event: 'alert.opened' | 'alert.closed', row: AlertRow): void {
    this.deps.webhook?.send({ event, alert: alertView(row), sent_at: new Date().toISOString() });
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
