import { type Clock, type Health, Signal, delay, type Logger } from '../platform';
import { coalesceMs } from './coalesce';
import { encodeEvent } from './event-codec';
import type { EventLogRepository } from './event-log-repository';
import { CatchUp } from './catch-up';
import { busHealth } from './health';
import type { OffsetsRepository } from './offsets-repository';
import {
  BusUnavailableError,
  type BatchHandler,
  type BusEvent,
  type BusMessage,
  type BusStatus,
  type EventBus,
  type EventPublisher,
} from './types';

export const EMBEDDED_TOPIC = 'embedded';
const PARTITION = 0;
export interface EmbeddedBusOptions {
  /** Most events handed to the handler at once. */
  maxBatch: number;
  /** Most events waiting for the next group commit before publishers get 503. */
  maxPending: number;
  /** How long applied events stay in the log for replay. */
  retentionMs: number;
  pruneIntervalMs: number;
}

export interface EmbeddedBusDeps {
  log: EventLogRepository;
  offsets: OffsetsRepository;
  /** Called with each batch read from the log (the exactly-once applier's). */
  handler: BatchHandler;
  clock: Clock;
  logger: Logger;
  options: EmbeddedBusOptions;
}

interface Pending {
  events: readonly BusEvent[];
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * The default bus: an append-only log in the same SQLite file, one partition, offsets that
 * only grow. Publishes from concurrent requests are group-committed in one transaction; the
 * consumer loop reads from the stored offset and is woken as soon as something is appended.
 */
export class EmbeddedBus implements EventBus, EventPublisher {
  readonly name = 'embedded-bus';
  readonly kind = 'embedded' as const;
  readonly topic = EMBEDDED_TOPIC;
  readonly publisher: EventPublisher = this;

  private pending: Pending[] = [];
  private pendingEvents = 0;
  private flushing: Promise<void> | undefined;
  private accepting = false;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private readonly wake = new Signal();
  private consumerRunning = false;
  private lastError: string | undefined;
  private lastPrune = 0;

  private readonly log: EventLogRepository;
  private readonly offsets: OffsetsRepository;
  private readonly handler: BatchHandler;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly opts: EmbeddedBusOptions;
  private readonly catchUp: CatchUp;

  constructor(deps: EmbeddedBusDeps) {
    this.log = deps.log;
    this.offsets = deps.offsets;
    this.handler = deps.handler;
    this.clock = deps.clock;
    this.logger = deps.logger;
    this.opts = deps.options;
    this.catchUp = new CatchUp({
      topic: this.topic,
      offsets: this.offsets,
      watermarks: async () => new Map([[PARTITION, await this.log.bounds()]]),
    });
  }

  async start(): Promise<void> {
    await this.catchUp.begin();
    this.accepting = true;
    this.loop = this.consume(this.handler);
    this.logger.info('stream.embedded_started', { topic: this.topic });
  }

  publish(events: readonly BusEvent[]): Promise<void> {
    if (!this.accepting)
      return Promise.reject(new BusUnavailableError('the event log is not accepting events (shutting down)', 5));
    if (events.length === 0) return Promise.resolve();
    if (this.pendingEvents + events.length > this.opts.maxPending) {
      return Promise.reject(
        new BusUnavailableError(`the event log's queue is full (${this.opts.maxPending} events waiting)`, 1),
      );
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ events, resolve, reject });
      this.pendingEvents += events.length;
      if (!this.flushing) this.flushing = this.flush();
    });
  }

  /**
   * Group commit: everything that arrived while the previous commit ran goes in the next one.
   * Not `oneAtATime`: its guard clears a microtask after the call returns, and an event published
   * in between would join a flush that has already looked at an empty queue. Here the guard clears
   * in the same step as that last look.
   */
  private async flush(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r));
    while (this.pending.length > 0) {
      const group = this.pending;
      this.pending = [];
      const count = group.reduce((n, p) => n + p.events.length, 0);
      try {
        await this.log.append(
          this.clock.now(),
          group.flatMap((p) => p.events.map((e) => ({ dataset_id: e.dataset_id, payload: encodeEvent(e) }))),
        );
        for (const p of group) p.resolve();
        this.wake.notify();
      } catch (err) {
        this.logger.error('stream.embedded_append_failed', { error: err as Error, events: count });
        const e = new BusUnavailableError(`the event log could not store the events: ${(err as Error).message}`, 1);
        for (const p of group) p.reject(e);
      } finally {
        this.pendingEvents -= count;
      }
    }
    this.flushing = undefined;
  }

  private async consume(handler: BatchHandler): Promise<void> {
    this.consumerRunning = true;
    let next = (await this.offsets.nextOffsets(this.topic)).get(PARTITION) ?? 0;
    while (!this.abort.signal.aborted) {
      let batch: BusMessage[];
      try {
        const rows = await this.log.read(next, this.opts.maxBatch);
        batch = rows.map((r) => ({ topic: this.topic, partition: PARTITION, offset: r.offset, value: r.payload }));
      } catch (err) {
        this.fail('read', err);
        await delay(500, this.abort.signal);
        continue;
      }
      if (batch.length === 0) {
        await this.maybePrune(next);
        if (this.abort.signal.aborted) break;
        await this.wake.wait(1_000);
        continue;
      }
      try {
        const started = performance.now();
        await handler(batch);
        next = batch[batch.length - 1]!.offset + 1;
        this.lastError = undefined;
        if (batch.length < this.opts.maxBatch) await delay(coalesceMs(performance.now() - started), this.abort.signal);
      } catch (err) {
        // Not past this batch: the same messages come again after a pause.
        this.fail('apply', err);
        await delay(500, this.abort.signal);
      }
    }
    this.consumerRunning = false;
  }

  private fail(step: string, err: unknown): void {
    this.lastError = `${step}: ${(err as Error).message}`;
    this.logger.error('stream.consumer_error', { step, error: err as Error });
  }

  /** Drops applied events older than the retention: the log stays bounded. */
  private async maybePrune(next: number): Promise<void> {
    const now = this.clock.now();
    if (now - this.lastPrune < this.opts.pruneIntervalMs) return;
    this.lastPrune = now;
    try {
      const n = await this.log.prune(next, now - this.opts.retentionMs);
      if (n > 0) this.logger.info('stream.embedded_pruned', { events: n });
    } catch (err) {
      this.logger.warn('stream.embedded_prune_failed', { error: err as Error });
    }
  }

  async stop(): Promise<void> {
    this.accepting = false;
    await this.flushing;
    this.abort.abort();
    this.wake.notify();
    await this.loop;
    this.loop = undefined;
  }

  status(): BusStatus {
    const s: BusStatus = { connected: this.accepting, consumerRunning: this.consumerRunning };
    if (!this.accepting) s.detail = 'event log not accepting (stopped)';
    else if (!this.consumerRunning) s.detail = 'consumer loop not running';
    else if (this.lastError) s.detail = `consumer retrying after error: ${this.lastError}`;
    return s;
  }

  /** `bus` and `consumer`; the consumer is not ready until what was acknowledged before the start is applied. */
  health(): Promise<Health> {
    return this.catchUp.health(busHealth(this.kind, this.status()));
  }

  async lag(): Promise<number> {
    const next = (await this.offsets.nextOffsets(this.topic)).get(PARTITION) ?? 0;
    return this.log.countFrom(next);
  }
}
