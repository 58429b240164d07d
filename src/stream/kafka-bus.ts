import Kafka from '@confluentinc/kafka-javascript';
import { type Health, Signal, delay, type Logger } from '../platform';
import { encodeEvent } from './event-codec';
import { CatchUp, type Watermarks, unapplied } from './catch-up';
import { busHealth } from './health';
import { GroupBeacon } from './group-beacon';
import { ensureTopic } from './kafka-admin';
import { CODES, type LibrdKafkaError, connectClient, topicWatermarks } from './kafka-client';
import { KafkaConsumerLoop, type SoleMember } from './kafka-consumer';
import {
  BusUnavailableError,
  type BatchHandler,
  type BusEvent,
  type BusStatus,
  type EventBus,
  type EventPublisher,
  type AssignmentOffsets,
  type KafkaConfig,
} from './types';

const PROBE_EVERY_MS = 2_000;

export interface KafkaBusDeps {
  config: KafkaConfig;
  logger: Logger;
  /** Where the handler stores applied offsets: read to report lag, and where to read partitions given. */
  offsets: AssignmentOffsets;
  /** Called with each batch consumed (the exactly-once applier's). */
  handler: BatchHandler;
  /** With SQLite state: refuse to share the consumer group (see SoleMember). */
  soleMember?: SoleMember;
}

interface Delivery {
  remaining: number;
  error: BusUnavailableError | undefined;
  resolve: () => void;
  reject: (err: Error) => void;
  settled: boolean;
  /** The produce round it went out in, which holds the deadline timer of all its publishes. */
  round: Round | undefined;
}

interface Round {
  /** Publishes of the round not yet settled: the timer is cleared when none is left. */
  open: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * The Kafka bus over librdkafka. Producing uses the native Producer with delivery reports
 * (acks=all, idempotent): a publish resolves once the broker has every event of the call, and
 * concurrent publishes share librdkafka's batches (linger.ms). Consuming runs in this process
 * in a consumer group; offsets live in SQLite (the handler's transaction), so Kafka's own
 * commit is only a hint for tools that watch the group.
 */
export class KafkaBus implements EventBus, EventPublisher {
  readonly name = 'kafka-bus';
  readonly kind = 'kafka' as const;
  readonly topic: string;
  readonly publisher: EventPublisher = this;

  private producer: Kafka.Producer | undefined;
  private consumer: KafkaConsumerLoop | undefined;
  private beacon: GroupBeacon | undefined;
  private accepting = false;
  private stopping = false;
  private down: string | undefined = 'not connected yet';
  private inflight = 0;
  private queued: Array<{ events: readonly BusEvent[]; d: Delivery }> = [];
  private producing: NodeJS.Immediate | undefined;
  private readonly drained = new Signal();
  private loop: Promise<void> | undefined;
  private probe: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private readonly config: KafkaConfig;
  private readonly logger: Logger;
  private readonly catchUp: CatchUp;

  constructor(private readonly deps: KafkaBusDeps) {
    this.config = deps.config;
    this.logger = deps.logger;
    this.topic = deps.config.topic;
    this.catchUp = new CatchUp({ topic: this.topic, offsets: deps.offsets, watermarks: () => this.watermarks() });
  }

  private base(): Record<string, string | number | boolean> {
    return { 'bootstrap.servers': this.config.bootstrap, 'client.id': this.config.clientId, ...this.config.extra };
  }

  async start(): Promise<void> {
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
    const consumer = new KafkaConsumerLoop({
      ...this.deps,
      onClientError: (err) => this.onClientError('consumer', err),
    });
    this.consumer = consumer;
    const sole = this.deps.soleMember;
    if (sole)
      this.beacon = new GroupBeacon({
        config: this.config,
        logger: this.logger,
        everyMs: sole.beaconMs,
        instance: sole.instance,
        refuse: sole.refuse,
      });
    this.loop = ready.then(() => {
      this.beacon?.start();
      return consumer.run();
    });
  }

  /** Connects (retrying every few seconds until it works or the bus stops), then makes sure the topic exists. */
  private async connectProducer(producer: Kafka.Producer, firstAttempt: () => void): Promise<void> {
    for (let attempt = 1; !this.stopping; attempt++) {
      try {
        await connectClient(producer, Math.min(this.config.deliveryTimeoutMs, 10_000));
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
    await ensureTopic(producer, this.config, this.logger);
    await this.catchUp.begin();
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
        round: undefined,
      };
      this.inflight++;
      this.queued.push({ events, d });
      this.producing ??= setImmediate(() => this.produceQueued());
    });
  }

  /**
   * Hands every publish queued since the last turn of the event loop to librdkafka together: one
   * produce call right after another, and one deadline timer for the lot. Called one request at a
   * time, each produce paid for waking librdkafka's threads and taking its queue's lock while they
   * ran; back to back, the first wakes them and the rest find the lock free. A publish still
   * resolves only on the broker's delivery report for every one of its events.
   */
  private produceQueued(): void {
    this.producing = undefined;
    const queued = this.queued;
    this.queued = [];
    const round: Round = { open: queued.length, timer: undefined };
    // librdkafka's own message timeout can report well after message.timeout.ms when the
    // connection died with the events in flight (seen: 7.6 s for 3 s). The caller gets its 503
    // on time; a late acknowledgement changes nothing (event ids make the client's retry safe).
    round.timer = setTimeout(() => {
      for (const { d } of queued) {
        if (d.settled) continue;
        this.markDown(`no acknowledgement within ${this.config.deliveryTimeoutMs} ms`);
        d.error ??= new BusUnavailableError(
          `Kafka did not acknowledge the events within ${this.config.deliveryTimeoutMs} ms`,
          5,
        );
        this.settle(d);
      }
    }, this.config.deliveryTimeoutMs);
    for (const { events, d } of queued) {
      d.round = round;
      this.produceAll(events, d);
    }
  }

  private produceAll(events: readonly BusEvent[], d: Delivery): void {
    const producer = this.producer;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      try {
        if (!producer) throw new Error('the producer was stopped');
        producer.produce(this.topic, null, Buffer.from(encodeEvent(e)), String(e.dataset_id), e.ts, d);
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
    if (d.round && --d.round.open === 0) clearTimeout(d.round.timer);
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

  async stop(): Promise<void> {
    this.accepting = false;
    // First: a successor started meanwhile must not mistake this stopping member for a live one.
    const beacon = this.beacon;
    this.beacon = undefined;
    const beaconStopped = beacon?.stop();
    const deadline = Date.now() + this.config.deliveryTimeoutMs + 1_000;
    while (this.inflight > 0 && Date.now() < deadline) await this.drained.wait(100);
    this.stopping = true;
    this.abort.abort();
    this.consumer?.stop();
    if (this.probe) clearInterval(this.probe);
    this.probe = undefined;
    await this.loop;
    this.loop = undefined;
    await beaconStopped;
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
    const running = this.consumer?.running ?? false;
    const consumerError = this.consumer?.error;
    const s: BusStatus = { connected: this.accepting && !this.down, consumerRunning: running && !this.stopping };
    if (!this.accepting) s.detail = 'Kafka producer stopped';
    else if (this.down) s.detail = `Kafka unreachable: ${this.down}`;
    else if (!running) s.detail = `Kafka consumer not running${consumerError ? `: ${consumerError}` : ''}`;
    else if (consumerError) s.detail = `Kafka consumer retrying: ${consumerError}`;
    return s;
  }

  /** `bus` and `consumer`; the consumer is not ready until what was acknowledged before the start is applied. */
  health(): Promise<Health> {
    return this.catchUp.health(busHealth(this.kind, this.status()));
  }

  /** Over every partition of the topic, whoever holds it: what the database has not applied yet. */
  async lag(): Promise<number | undefined> {
    const marks = await this.watermarks();
    return marks && unapplied(marks, await this.deps.offsets.nextOffsets(this.topic));
  }

  private watermarks(): Promise<Map<number, Watermarks> | undefined> {
    const p = this.producer;
    if (!p || this.down) return Promise.resolve(undefined);
    return topicWatermarks(p, this.topic);
  }
}
