import Kafka from '@confluentinc/kafka-javascript';
import { Signal, delay, type Logger } from '../platform';
import { encodeEvent } from './event-codec';
import {
  BusUnavailableError,
  type BatchHandler,
  type BusEvent,
  type BusMessage,
  type BusStatus,
  type EventBus,
  type EventPublisher,
  type OffsetReader,
  type KafkaConfig,
} from './types';

const CODES = Kafka.CODES.ERRORS;
const CONSUME_BATCH = 5_000;
const PROBE_EVERY_MS = 2_000;

interface Delivery {
  remaining: number;
  error: BusUnavailableError | undefined;
  resolve: () => void;
  reject: (err: Error) => void;
  settled: boolean;
  deadline: NodeJS.Timeout | undefined;
}

type LibrdKafkaError = { code?: number; message?: string };

/**
 * The Kafka bus over librdkafka. Producing uses the native Producer with delivery reports
 * (acks=all, idempotent): a publish resolves once the broker has every event of the call, and
 * concurrent publishes share librdkafka's batches (linger.ms). Consuming runs in this process
 * in a consumer group; offsets live in SQLite (the handler's transaction), so Kafka's own
 * commit is only a hint for tools that watch the group.
 */
export class KafkaBus implements EventBus, EventPublisher {
  readonly kind = 'kafka' as const;
  readonly topic: string;
  readonly publisher: EventPublisher = this;

  private producer: Kafka.Producer | undefined;
  private consumer: Kafka.KafkaConsumer | undefined;
  private accepting = false;
  private stopping = false;
  private down: string | undefined = 'not connected yet';
  private consumerRunning = false;
  private consumerError: string | undefined;
  private inflight = 0;
  private readonly drained = new Signal();
  private loop: Promise<void> | undefined;
  private probe: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private protocol: 'classic' | 'consumer';

  constructor(
    private readonly config: KafkaConfig,
    private readonly logger: Logger,
    private readonly offsets: OffsetReader,
  ) {
    this.topic = config.topic;
    this.protocol = config.groupProtocol;
  }

  private base(): Record<string, string | number | boolean> {
    return { 'bootstrap.servers': this.config.bootstrap, 'client.id': this.config.clientId, ...this.config.extra };
  }

  async start(handler: BatchHandler): Promise<void> {
    this.stopping = false;
    const producer = new Kafka.Producer({
      'topic.metadata.refresh.interval.ms': 10_000,
      ...this.base(),
      dr_cb: true,
      'enable.idempotence': true,
      acks: 'all',
      'linger.ms': 2,
      'message.timeout.ms': this.config.deliveryTimeoutMs,
      'queue.buffering.max.messages': 1_000_000,
      'allow.auto.create.topics': true,
    } as Kafka.ProducerGlobalConfig);
    this.producer = producer;
    producer.on('delivery-report', (err, report) =>
      this.delivered(err as LibrdKafkaError | null, report.opaque as Delivery),
    );
    producer.on('event.error', (err) => this.onClientError('producer', err as LibrdKafkaError));
    this.accepting = true;
    // Start does not wait for the brokers: without them the app still serves (ingest answers 503,
    // /readyz says why) and connects as soon as they answer.
    let firstAttempt!: () => void;
    const attempted = new Promise<void>((resolve) => (firstAttempt = resolve));
    const ready = this.connectProducer(producer, firstAttempt).finally(firstAttempt);
    await attempted;
    this.loop = ready.then(() => this.consume(handler));
  }

  /** Connects (retrying every few seconds until it works or the bus stops), then makes sure the topic exists. */
  private async connectProducer(producer: Kafka.Producer, firstAttempt: () => void): Promise<void> {
    for (let attempt = 1; !this.stopping; attempt++) {
      try {
        await this.connect(producer);
        break;
      } catch (err) {
        this.markDown(`cannot reach ${this.config.bootstrap}: ${(err as Error).message}`, false);
        firstAttempt();
        if (attempt === 1 || attempt % 10 === 0)
          this.logger.warn('kafka.connect_failed', { attempt, error: (err as Error).message });
        await delay(PROBE_EVERY_MS, this.abort.signal);
      }
    }
    if (this.stopping) return;
    // Delivery reports arrive from librdkafka's background thread as soon as the broker acks,
    // not on the next tick of a JS poll timer: a request waits for its ack, nothing more.
    producer.setPollInBackground(true);
    this.markUp();
    await this.ensureTopic(producer);
  }

  private connect(client: Kafka.Producer | Kafka.KafkaConsumer): Promise<void> {
    return new Promise((resolve, reject) => {
      client.connect({ timeout: Math.min(this.config.deliveryTimeoutMs, 10_000) }, (err) =>
        err ? reject(new Error(err.message)) : resolve(),
      );
    });
  }

  /**
   * Creates the topic with the configured partitions if it is missing. Some brokers (and
   * librdkafka's mock cluster) cannot create topics through the admin API but create them on
   * first use; that is logged and tolerated.
   */
  private async ensureTopic(producer: Kafka.Producer): Promise<void> {
    const exists = await new Promise<boolean>((resolve) =>
      producer.getMetadata({ timeout: 5_000 }, (err, md) =>
        resolve(!err && md.topics.some((t) => t.name === this.topic && t.partitions.length > 0)),
      ),
    );
    if (exists) return;
    const admin = Kafka.AdminClient.createFrom(producer);
    try {
      await new Promise<void>((resolve, reject) =>
        admin.createTopic(
          {
            topic: this.topic,
            num_partitions: this.config.partitions,
            replication_factor: this.config.replicationFactor,
          },
          this.config.adminTimeoutMs,
          (err) => (!err || err.code === CODES.ERR_TOPIC_ALREADY_EXISTS ? resolve() : reject(new Error(err.message))),
        ),
      );
      this.logger.info('kafka.topic_created', { topic: this.topic, partitions: this.config.partitions });
    } catch (err) {
      // A metadata request for the topic makes brokers that auto-create topics create it now:
      // the consumer must not subscribe to a topic that does not exist yet (with KIP-848 it would
      // wait for an assignment that never comes; with the classic protocol, for a rejoin).
      const created = await new Promise<boolean>((resolve) =>
        producer.getMetadata({ topic: this.topic, timeout: 5_000 }, (e, md) =>
          resolve(!e && md.topics.some((t) => t.name === this.topic && t.partitions.length > 0)),
        ),
      );
      if (created)
        this.logger.info('kafka.topic_auto_created', { topic: this.topic, admin_error: (err as Error).message });
      else this.logger.warn('kafka.topic_missing', { topic: this.topic, error: (err as Error).message });
    } finally {
      admin.disconnect();
    }
  }

  publish(events: readonly BusEvent[]): Promise<void> {
    if (!this.accepting || !this.producer)
      return Promise.reject(new BusUnavailableError('the Kafka producer is not accepting events (shutting down)', 5));
    if (this.down) return Promise.reject(new BusUnavailableError(`Kafka is unreachable: ${this.down}`, 5));
    if (events.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const d: Delivery = {
        remaining: events.length,
        error: undefined,
        resolve,
        reject,
        settled: false,
        deadline: undefined,
      };
      this.inflight++;
      // librdkafka's own message timeout can report well after message.timeout.ms when the
      // connection died with the events in flight (seen: 7.6 s for 3 s). The caller gets its 503
      // on time; a late acknowledgement changes nothing (event ids make the client's retry safe).
      d.deadline = setTimeout(() => {
        if (d.settled) return;
        this.markDown(`no acknowledgement within ${this.config.deliveryTimeoutMs} ms`);
        d.error ??= new BusUnavailableError(
          `Kafka did not acknowledge the events within ${this.config.deliveryTimeoutMs} ms`,
          5,
        );
        this.settle(d);
      }, this.config.deliveryTimeoutMs);
      for (let i = 0; i < events.length; i++) {
        const e = events[i]!;
        try {
          this.producer!.produce(this.topic, null, Buffer.from(encodeEvent(e)), String(e.dataset_id), e.ts, d);
        } catch (err) {
          const full = (err as LibrdKafkaError).code === CODES.ERR__QUEUE_FULL;
          d.error = new BusUnavailableError(
            full ? 'the Kafka producer queue is full' : `Kafka refused the event: ${(err as Error).message}`,
            1,
          );
          d.remaining -= events.length - i;
          if (d.remaining === 0) this.settle(d);
          return;
        }
      }
    });
  }

  private delivered(err: LibrdKafkaError | null, d: Delivery): void {
    if (err) {
      d.error ??= new BusUnavailableError(`Kafka did not acknowledge the event: ${err.message ?? 'unknown error'}`, 5);
      if (err.code === CODES.ERR__MSG_TIMED_OUT)
        this.markDown(`no acknowledgement within ${this.config.deliveryTimeoutMs} ms`);
    } else if (this.down) {
      this.markUp();
    }
    if (--d.remaining === 0) this.settle(d);
  }

  private settle(d: Delivery): void {
    if (d.settled) return;
    d.settled = true;
    clearTimeout(d.deadline);
    this.inflight--;
    if (d.error) d.reject(d.error);
    else d.resolve();
    if (this.inflight === 0) this.drained.notify();
  }

  private onClientError(who: string, err: LibrdKafkaError): void {
    // The native client's 'event.error' carries librdkafka's text but no code (it arrives as -1),
    // so the text is what says every broker connection is gone.
    if (err.code === CODES.ERR__ALL_BROKERS_DOWN || /all broker connections are down/i.test(err.message ?? ''))
      this.markDown(`all brokers down (${err.message ?? ''})`);
    else this.logger.warn('kafka.client_error', { client: who, code: err.code, error: err.message });
  }

  private markDown(reason: string, probe = true): void {
    if (!this.down || this.down === 'not connected yet') this.logger.warn('kafka.unreachable', { reason });
    this.down = reason;
    if (probe && !this.probe && !this.stopping) {
      // While down, publishes are refused at once; a metadata probe tells when the brokers are back.
      this.probe = setInterval(() => {
        this.producer?.getMetadata({ timeout: PROBE_EVERY_MS - 100 }, (err) => {
          if (!err) this.markUp();
        });
      }, PROBE_EVERY_MS);
      this.probe.unref();
    }
  }

  private markUp(): void {
    if (this.down && this.down !== 'not connected yet') this.logger.info('kafka.reachable', {});
    this.down = undefined;
    if (this.probe) clearInterval(this.probe);
    this.probe = undefined;
  }

  private newConsumer(): Kafka.KafkaConsumer {
    const c = new Kafka.KafkaConsumer(
      {
        'topic.metadata.refresh.interval.ms': 10_000,
        ...this.base(),
        'group.id': this.config.groupId,
        'group.protocol': this.protocol,
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        'fetch.wait.max.ms': 10,
      },
      { 'auto.offset.reset': 'earliest' },
    );
    c.on('event.error', (err) => {
      const e = err as LibrdKafkaError;
      if (
        this.protocol === 'consumer' &&
        (e.code === CODES.ERR__UNSUPPORTED_FEATURE || /ConsumerGroupHeartbeat|not supported/i.test(e.message ?? ''))
      ) {
        this.consumerError = 'unsupported group protocol';
        return;
      }
      this.onClientError('consumer', e);
    });
    c.setDefaultConsumeTimeout(100);
    // Wait (up to the timeout) for the first message only, then take what is ready: otherwise a
    // trickle of events waits for a full batch and visibility suffers.
    (
      c as unknown as { setDefaultIsTimeoutOnlyForFirstMessage(v: boolean): void }
    ).setDefaultIsTimeoutOnlyForFirstMessage(true);
    return c;
  }

  private async consume(handler: BatchHandler): Promise<void> {
    while (!this.stopping) {
      try {
        const c = this.newConsumer();
        await this.connect(c);
        c.subscribe([this.topic]);
        this.consumer = c;
        this.consumerRunning = true;
        this.consumerError = undefined;
        this.logger.info('kafka.consumer_started', {
          group: this.config.groupId,
          protocol: this.protocol,
          topic: this.topic,
        });
        await this.consumeLoop(c, handler);
      } catch (err) {
        this.consumerError = (err as Error).message;
        this.logger.warn('kafka.consumer_failed', { error: this.consumerError });
      }
      this.consumerRunning = false;
      await this.closeConsumer();
      if (this.consumerError === 'unsupported group protocol' && this.protocol === 'consumer') {
        this.logger.warn('kafka.group_protocol_fallback', {
          from: 'consumer',
          to: 'classic',
          reason: 'the broker does not support KIP-848',
        });
        this.protocol = 'classic';
        continue;
      }
      if (!this.stopping) await delay(1_000, this.abort.signal);
    }
  }

  private async consumeLoop(c: Kafka.KafkaConsumer, handler: BatchHandler): Promise<void> {
    while (!this.stopping && this.consumerError !== 'unsupported group protocol') {
      const messages = await new Promise<Kafka.Message[]>((resolve, reject) =>
        c.consume(CONSUME_BATCH, (err, msgs) =>
          err && (err as LibrdKafkaError).code !== CODES.ERR__TIMED_OUT
            ? reject(new Error(err.message))
            : resolve(msgs ?? []),
        ),
      ).catch((err: unknown) => {
        this.logger.warn('kafka.consume_error', { error: (err as Error).message });
        return [] as Kafka.Message[];
      });
      if (messages.length === 0) continue;
      const batch: BusMessage[] = messages.map((m) => ({
        topic: m.topic,
        partition: m.partition,
        offset: m.offset,
        value: m.value ? m.value.toString('utf8') : '',
      }));
      // The same batch again until it applies: never skipped, and the loop never dies of it.
      for (;;) {
        try {
          await handler(batch);
          this.consumerError = undefined;
          break;
        } catch (err) {
          this.consumerError = `apply: ${(err as Error).message}`;
          this.logger.error('stream.consumer_error', { step: 'apply', error: err as Error });
          // Stopping mid-retry is safe: nothing was committed, the next start reads these again.
          if (this.stopping) return;
          await delay(500, this.abort.signal);
        }
      }
      const next = new Map<number, number>();
      for (const m of batch) next.set(m.partition, Math.max(next.get(m.partition) ?? 0, m.offset + 1));
      try {
        c.commit([...next].map(([partition, offset]) => ({ topic: this.topic, partition, offset })));
      } catch (err) {
        this.logger.debug('kafka.commit_failed', { error: (err as Error).message });
      }
    }
  }

  private closeConsumer(): Promise<void> {
    const c = this.consumer;
    this.consumer = undefined;
    if (!c) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, 10_000);
      try {
        c.disconnect(() => {
          clearTimeout(t);
          resolve();
        });
      } catch {
        clearTimeout(t);
        resolve();
      }
    });
  }

  async stop(): Promise<void> {
    this.accepting = false;
    const deadline = Date.now() + this.config.deliveryTimeoutMs + 1_000;
    while (this.inflight > 0 && Date.now() < deadline) await this.drained.wait(100);
    this.stopping = true;
    this.abort.abort();
    if (this.probe) clearInterval(this.probe);
    this.probe = undefined;
    await this.loop;
    this.loop = undefined;
    const p = this.producer;
    this.producer = undefined;
    if (p) {
      await new Promise<void>((resolve) => {
        try {
          p.flush(2_000, () => p.disconnect(() => resolve()));
        } catch {
          resolve();
        }
      });
    }
  }

  status(): BusStatus {
    const s: BusStatus = {
      connected: this.accepting && !this.down,
      consumerRunning: this.consumerRunning && !this.stopping,
    };
    if (!this.accepting) s.detail = 'Kafka producer stopped';
    else if (this.down) s.detail = `Kafka unreachable: ${this.down}`;
    else if (!this.consumerRunning)
      s.detail = `Kafka consumer not running${this.consumerError ? `: ${this.consumerError}` : ''}`;
    else if (this.consumerError) s.detail = `Kafka consumer retrying: ${this.consumerError}`;
    return s;
  }

  async lag(): Promise<number | undefined> {
    const c = this.consumer;
    if (!c || !this.consumerRunning) return undefined;
    let assigned: Kafka.Assignment[];
    try {
      assigned = c.assignments();
    } catch {
      return undefined;
    }
    const stored = await this.offsets.nextOffsets(this.topic);
    let lag = 0;
    for (const a of assigned) {
      const high = await new Promise<number | undefined>((resolve) =>
        c.queryWatermarkOffsets(this.topic, a.partition, 1_000, (err, w) => resolve(err ? undefined : w.highOffset)),
      );
      if (high === undefined) return undefined;
      lag += Math.max(0, high - (stored.get(a.partition) ?? 0));
    }
    return lag;
  }
}
