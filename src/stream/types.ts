import type { Health, Service } from '../platform';

/**
 * The event bus: what ingest publishes into and what the consumer loop reads from. Two
 * implementations share these semantics: Kafka (KAFKA_BOOTSTRAP set) and the embedded,
 * durable log in SQLite (the default).
 */

export const EVENT_TYPES = ['read', 'write'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** One access event as it travels on the bus (JSON). Validated at ingest. */
export interface BusEvent {
  /** Schema version of this record. */
  v: 1;
  /** The producer's idempotency key, if it gave one. */
  id?: string;
  dataset_id: number;
  type: EventType;
  bytes: number;
  /** When the access happened, ms since the epoch (the producer's, or the receive time). */
  ts: number;
  /** A full sequential read or write (backup, antivirus pass): counted, but never warms a dataset. */
  scan: boolean;
  /** When this process accepted it, ms since the epoch. */
  received_at: number;
}

/** A record read back from the bus, not yet parsed: parsing failures must reach the dead letters. */
export interface BusMessage {
  topic: string;
  partition: number;
  offset: number;
  value: string;
}

/**
 * Applies a batch. Contract: in the same SQLite transaction as its effects, the handler stores
 * `next_offset = offset + 1` for every (topic, partition) it saw, and it skips any message whose
 * offset is below the stored next_offset. So a batch delivered twice (replay after a crash, a
 * rebalance, a lost Kafka commit) counts once. When it resolves, the batch is durable. When it
 * rejects, the bus must not move past the batch: it delivers the same messages again later.
 */
export type BatchHandler = (messages: BusMessage[]) => Promise<void>;

export interface EventPublisher {
  /**
   * Resolves once every event is durable (Kafka acks=all, or committed to the embedded log).
   * Rejects with BusUnavailableError when the bus cannot take them (broker down, queue full).
   * Concurrent calls share batches: never one round trip per call.
   */
  publish(events: readonly BusEvent[]): Promise<void>;
}

export interface BusStatus {
  /** The producer side can take events now. */
  connected: boolean;
  /** The consumer loop is running (and, for Kafka, in its group). */
  consumerRunning: boolean;
  /** Why not, when one of the above is false. */
  detail?: string;
}

/** A bus is a service; the handler it calls with batches is given when it is built. */
export interface EventBus extends Service {
  readonly kind: 'embedded' | 'kafka';
  readonly topic: string;
  readonly publisher: EventPublisher;
  /** Connects the producer and starts the consumer loop, which calls the handler with batches. */
  start(): Promise<void>;
  /**
   * Stops in order: no new publishes; waits for in-flight publishes (flush); lets the consumer
   * finish the batch it is applying; disconnects. Idempotent, best-effort.
   */
  stop(): Promise<void>;
  /** `{ bus, consumer }`: `'ok'` or why not (see `busHealth`, `CatchUp`). */
  health(): Promise<Health>;
  status(): BusStatus;
  /** Messages on the bus not yet applied (sum over partitions), if it can be known now. */
  lag(): Promise<number | undefined>;
}

export class BusUnavailableError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds = 1,
  ) {
    super(message);
    this.name = 'BusUnavailableError';
  }
}

/** Where the handler stores applied offsets; a bus may read it to report lag. */
export interface OffsetReader {
  nextOffsets(topic: string): Promise<Map<number, number>>;
}

/** What a Kafka member reads, when it is given partitions, to know where to read them from. */
export interface AssignmentOffsets extends OffsetReader {
  /**
   * The database's applied offsets, read after any batch being committed for `partitions` has
   * committed (see OffsetsRepository.settledOffsets).
   */
  settledOffsets(topic: string, partitions: readonly number[]): Promise<Map<number, number>>;
}

/** How to reach Kafka (from KAFKA_* in config.ts). */
export interface KafkaConfig {
  readonly bootstrap: string;
  readonly topic: string;
  readonly groupId: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly groupProtocol: 'classic' | 'consumer';
  readonly clientId: string;
  /** How long a produce may wait for the broker before the request gets 503, ms. */
  readonly deliveryTimeoutMs: number;
  /** How long topic creation may take at start before the app relies on auto-creation, ms. */
  readonly adminTimeoutMs: number;
  /** Extra librdkafka properties as `key=value,key=value` (for TLS, SASL, tuning). */
  readonly extra: Readonly<Record<string, string>>;
}
