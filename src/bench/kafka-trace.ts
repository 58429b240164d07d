import Kafka from '@confluentinc/kafka-javascript';
import type { BusMessage } from '../stream';

/** When one event passed each point on its way to being visible (ms since the epoch). */
interface Stamps {
  /** The load generator's send time (the event's ts). */
  sent: number;
  /** When ingest took it (its received_at). */
  received: number;
  /** When the bus handed it to librdkafka. */
  produced: number;
  /** The broker's acknowledgement, as the app saw it (what the 202 waits for; visibility does not). */
  delivered?: number;
  /** When the consume call that returned it began, and when it returned. */
  consumeCalled?: number;
  fetched?: number;
  /** The applier's transaction: called, committed (visible). */
  applyStart?: number;
  committed?: number;
}

type Complete = Required<Stamps>;

interface Stage {
  name: string;
  ms: (s: Complete) => number;
}

/** Each stage of visibility, in order; they add up to committed − sent. */
const STAGES: Stage[] = [
  { name: 'http', ms: (s) => s.received - s.sent },
  { name: 'to_produce', ms: (s) => s.produced - s.received },
  // The consumer was applying or waiting (its coalesce wait) when the event reached the broker.
  { name: 'consumer_away', ms: (s) => Math.max(0, s.consumeCalled - s.produced) },
  { name: 'fetch', ms: (s) => s.fetched - Math.max(s.produced, s.consumeCalled) },
  { name: 'to_apply', ms: (s) => s.applyStart - s.fetched },
  { name: 'apply', ms: (s) => s.committed - s.applyStart },
];

type ProduceFn = (
  this: Kafka.Producer,
  topic: string,
  partition: number | null | undefined,
  value: Buffer | null,
  key?: string | Buffer | null,
  timestamp?: number | null,
  opaque?: unknown,
) => unknown;
type ConsumeCallback = (err: Kafka.LibrdKafkaError, messages: Kafka.Message[]) => void;
type ConsumeFn = (this: Kafka.KafkaConsumer, n: number, cb: ConsumeCallback) => void;

interface Applier {
  apply(messages: BusMessage[], halved?: boolean): Promise<void>;
}

/**
 * The bench's trace of the Kafka path, stage by stage, for events published one at a time (the
 * paced scenario): it wraps librdkafka's produce and consume and the applier's apply in this
 * process, so the product's code carries nothing for it. Events are matched by partition and
 * offset from the delivery report on.
 */
export class KafkaTrace {
  private readonly byOpaque = new WeakMap<object, Stamps>();
  private readonly byOffset = new Map<string, Stamps>();
  /** Consumer-side times that can arrive before the delivery report names the event. */
  private readonly early = new Map<string, Partial<Stamps>>();
  private readonly hooked = new WeakSet<Kafka.Producer>();
  private restore: Array<() => void> = [];

  /** Wraps produce, consume and `applier.apply` until `uninstall()`. */
  install(applier: Applier): void {
    const onProduce = (p: Kafka.Producer, value: Buffer | null, opaque: unknown): void =>
      this.produced(p, value, opaque);
    const onFetch = (m: Kafka.Message, times: Partial<Stamps>): void => this.at(m.partition, m.offset, times);
    const producer = Kafka.Producer.prototype as unknown as { produce: ProduceFn };
    const produce = producer.produce;
    producer.produce = function (topic, partition, value, key, timestamp, opaque) {
      onProduce(this, value, opaque);
      return produce.call(this, topic, partition, value, key, timestamp, opaque);
    };
    const consumer = Kafka.KafkaConsumer.prototype as unknown as { consume: ConsumeFn };
    const consume = consumer.consume;
    consumer.consume = function (n, cb) {
      const called = Date.now();
      consume.call(this, n, (err, messages) => {
        const now = Date.now();
        for (const m of messages ?? []) onFetch(m, { consumeCalled: called, fetched: now });
        cb(err, messages);
      });
    };
    const apply = applier.apply.bind(applier);
    applier.apply = async (messages, halved) => {
      const started = Date.now();
      await apply(messages, halved);
      if (halved) return;
      const now = Date.now();
      for (const m of messages) this.at(m.partition, m.offset, { applyStart: started, committed: now });
    };
    this.restore = [
      () => (producer.produce = produce),
      () => (consumer.consume = consume),
      () => (applier.apply = apply),
    ];
  }

  uninstall(): void {
    for (const r of this.restore) r();
    this.restore = [];
  }

  private produced(p: Kafka.Producer, value: Buffer | null, opaque: unknown): void {
    if (!value || typeof opaque !== 'object' || opaque === null) return;
    if (!this.hooked.has(p)) {
      this.hooked.add(p);
      // Registered after the bus's own listener: both run on the same report.
      p.on('delivery-report', (err, report) => this.delivered(err ? undefined : report));
    }
    const e = JSON.parse(value.toString('utf8')) as { ts: number; received_at: number };
    this.byOpaque.set(opaque, { sent: e.ts, received: e.received_at, produced: Date.now() });
  }

  private delivered(report: Kafka.DeliveryReport | undefined): void {
    const opaque: unknown = report?.opaque;
    if (!report || typeof opaque !== 'object' || opaque === null) return;
    const s = this.byOpaque.get(opaque);
    if (!s) return;
    this.byOpaque.delete(opaque);
    const key = `${report.partition}:${report.offset}`;
    Object.assign(s, this.early.get(key), { delivered: Date.now() });
    this.early.delete(key);
    this.byOffset.set(key, s);
  }

  private at(partition: number, offset: number, times: Partial<Stamps>): void {
    const key = `${partition}:${offset}`;
    const s = this.byOffset.get(key);
    if (s) Object.assign(s, times);
    else this.early.set(key, { ...this.early.get(key), ...times });
  }

  /** Per stage: the median over all events, and the mean over the slowest 1% (the p99's tail). */
  summary(): Record<string, unknown> {
    const all = [...this.byOffset.values()].filter(
      (s): s is Complete => s.committed !== undefined && s.fetched !== undefined && s.delivered !== undefined,
    );
    if (all.length === 0) return { traced: 0 };
    all.sort((a, b) => a.committed - a.sent - (b.committed - b.sent));
    const tail = all.slice(Math.floor(all.length * 0.99));
    const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const mean = (xs: number[]): number => Math.round((10 * xs.reduce((a, b) => a + b, 0)) / xs.length) / 10;
    const stages = (pick: (xs: number[]) => number, events: Complete[]): Record<string, number> =>
      Object.fromEntries([
        ...STAGES.map((st) => [st.name, pick(events.map(st.ms))] as const),
        ['ack', pick(events.map((s) => s.delivered - s.produced))] as const,
        ['visible', pick(events.map((s) => s.committed - s.sent))] as const,
      ]);
    return {
      traced: all.length,
      p50_stages_ms: stages(median, all),
      tail_1pct_mean_stages_ms: stages(mean, tail),
      tail_events: tail.length,
    };
  }
}
