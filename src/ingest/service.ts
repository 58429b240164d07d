import { type Clock, AppError } from '../platform';
import { BusUnavailableError, type BusEvent, type EventPublisher } from '../stream';
import type { DatasetResolver } from './dataset-resolver';
import { parseIncomingEvent, type EventRules, type IncomingEvent } from './event-input';

export interface IngestOptions {
  maxBatchEvents: number;
  maxFutureSkewMs: number;
}

const MAX_REPORTED = 50;

/** Checks events, resolves their datasets and hands them to the bus; answers once they are durable. */
export class IngestService {
  constructor(
    private readonly resolver: DatasetResolver,
    private readonly publisher: EventPublisher,
    private readonly clock: Clock,
    private readonly opts: IngestOptions,
  ) {}

  /** `items` is one event (index undefined in errors) or a batch. Returns the count accepted. */
  async ingest(items: unknown[], single: boolean, defaultType?: BusEvent['type']): Promise<number> {
    if (items.length > this.opts.maxBatchEvents) {
      throw AppError.badRequest(
        `body: more than ${this.opts.maxBatchEvents} events in one request (INGEST_MAX_BATCH); split the batch`,
        {
          field: 'body',
        },
      );
    }
    const now = this.clock.now();
    const rules: EventRules = { now, maxFutureSkewMs: this.opts.maxFutureSkewMs, defaultType };
    const incoming = items.map((raw, i) => parseIncomingEvent(raw, single ? undefined : i, rules));
    const events = await this.resolve(incoming, now);
    await this.publish(events);
    return events.length;
  }

  private async resolve(incoming: IncomingEvent[], now: number): Promise<BusEvent[]> {
    const ids = new Set<number>();
    const names = new Set<string>();
    for (const e of incoming) {
      if (e.dataset_id !== undefined) ids.add(e.dataset_id);
      else names.add(e.dataset!);
    }
    const found = await this.resolver.resolve([...ids], [...names]);
    const unknown: Array<{ index?: number; dataset_id?: number; dataset?: string }> = [];
    let unknownCount = 0;
    const events: BusEvent[] = [];
    for (const e of incoming) {
      const id = e.dataset_id ?? found.byName.get(e.dataset!);
      if (id === undefined || !(e.dataset_id === undefined || found.ids.has(id))) {
        unknownCount++;
        if (unknown.length < MAX_REPORTED) {
          unknown.push(
            e.dataset_id !== undefined
              ? { index: e.index, dataset_id: e.dataset_id }
              : { index: e.index, dataset: e.dataset },
          );
        }
        continue;
      }
      const ev: BusEvent = {
        v: 1,
        dataset_id: id,
        type: e.type,
        bytes: e.bytes,
        ts: e.ts,
        scan: e.scan,
        received_at: now,
      };
      if (e.id !== undefined) ev.id = e.id;
      events.push(ev);
    }
    if (unknownCount > 0) {
      const first = unknown[0]!;
      const what =
        first.dataset_id !== undefined ? `dataset_id ${first.dataset_id}` : `dataset "${first.dataset ?? ''}"`;
      const where = first.index === undefined ? '' : `item ${first.index}: `;
      const more = unknownCount > 1 ? ` (and ${unknownCount - 1} more)` : '';
      throw AppError.notFound(`dataset not found: ${where}${what}${more}; nothing was accepted`, {
        unknown,
        unknown_count: unknownCount,
      });
    }
    return events;
  }

  private async publish(events: BusEvent[]): Promise<void> {
    try {
      await this.publisher.publish(events);
    } catch (err) {
      if (err instanceof BusUnavailableError) {
        throw AppError.unavailable(
          `event stream unavailable: ${err.message}; not acknowledged (some events may still be stored): retry later with the same event ids`,
          err.retryAfterSeconds,
        );
      }
      throw err;
    }
  }
}
