import Kafka from '@confluentinc/kafka-javascript';
import { delay, type Logger } from '../platform';
import { coalesceMs } from './coalesce';
import { CODES, type LibrdKafkaError, connectClient } from './kafka-client';
import type { AssignmentOffsets, BatchHandler, BusMessage, KafkaConfig } from './types';

const CONSUME_BATCH = 5_000;
/** Kafka's commit of the applied positions (a hint for tools: see commitHint) at most this often. */
const HINT_EVERY_MS = 1_000;
const UNSUPPORTED_PROTOCOL = 'unsupported group protocol';
/** librdkafka's logical offset for "the start of the partition's log". */
const OFFSET_BEGINNING = -2;
/**
 * How long an assignment waits for the database's offsets (a batch being committed for the
 * partitions, then one select) before it reads from what this member knows: well inside any
 * session timeout, which the assign call must beat.
 */
const ASSIGN_READ_MS = 5_000;

/** The binding has these for cooperative (and KIP-848) groups; its typings do not list them. */
interface IncrementalAssignment {
  incrementalAssign(assignments: Kafka.Assignment[]): void;
  incrementalUnassign(assignments: Kafka.Assignment[]): void;
  rebalanceProtocol(): string;
}

export interface KafkaConsumerDeps {
  config: KafkaConfig;
  logger: Logger;
  handler: BatchHandler;
  /** The offsets the database has applied: where each assigned partition is read from. */
  offsets: AssignmentOffsets;
  /** Client errors that are not the consumer's own business (all brokers down): the bus's. */
  onClientError: (err: LibrdKafkaError) => void;
  /** Set when the state is SQLite: this instance must be the group's only member. */
  soleMember?: SoleMember;
}

/**
 * A member with SQLite state must hold every partition of the topic: with another member in the
 * group, each database would see only its share of the events. A live member is seen within
 * seconds by its beacon (GroupBeacon); one that sends none (not this product, or beacons not
 * possible) is inferred from the assignment: joining, this member waits up to `graceMs` for the
 * whole of it (a crashed predecessor holds its partitions until its session times out); still
 * short of it, the group has another live member and `refuse` is called.
 */
export interface SoleMember {
  graceMs: number;
  /** How often the beacon says this member is alive. */
  beaconMs: number;
  /** This instance's name, in the beacon. */
  instance: string;
  refuse: (err: Error) => void;
}

/**
 * The consumer side of the Kafka bus: joins the group, hands batches to the handler until each
 * applies, and rejoins after failures. When the broker does not speak KIP-848's group protocol,
 * it falls back to the classic one.
 */
export class KafkaConsumerLoop {
  /** In the group and consuming. */
  running = false;
  /** Why it is not running, or why it is retrying. */
  error: string | undefined;
  private consumer: Kafka.KafkaConsumer | undefined;
  private stopping = false;
  private readonly abort = new AbortController();
  private protocol: 'classic' | 'consumer';
  /**
   * Next offset to apply per partition as this member knows it: the database's at start and at
   * each assignment, moved on by the batches it applies. Stale for a partition another member
   * held since (which is why an assignment reads the database again); used only when it cannot.
   */
  private positions = new Map<number, number>();
  /** The rebalance events not handled yet, in librdkafka's order (see rebalance()). */
  private rebalancing: Promise<void> = Promise.resolve();
  /** The partitions this member holds. */
  private readonly assigned = new Set<number>();
  /** It has held the whole topic once: the sole-member check is over. */
  private established = false;
  private shortSince: number | undefined;
  /** Positions applied since the last commit hint, and when that was. */
  private readonly hint = new Map<number, number>();
  private hintAt = 0;
  private topicPartitions: number | undefined;

  constructor(private readonly deps: KafkaConsumerDeps) {
    this.protocol = deps.config.groupProtocol;
  }

  /** Runs until `stop()`. */
  async run(): Promise<void> {
    const { config, logger } = this.deps;
    while (!this.stopping) {
      try {
        this.positions = await this.deps.offsets.nextOffsets(config.topic);
        const c = this.newConsumer();
        await connectClient(c, Math.min(config.deliveryTimeoutMs, 10_000));
        c.subscribe([config.topic]);
        this.consumer = c;
        this.running = true;
        this.error = undefined;
        logger.info('kafka.consumer_started', { group: config.groupId, protocol: this.protocol, topic: config.topic });
        await this.consumeLoop(c);
      } catch (err) {
        this.error = (err as Error).message;
        logger.warn('kafka.consumer_failed', { error: this.error });
      }
      this.running = false;
      await this.closeConsumer();
      if (this.error === UNSUPPORTED_PROTOCOL && this.protocol === 'consumer') {
        logger.warn('kafka.group_protocol_fallback', {
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

  /** Lets the batch being applied finish, then leaves the group. */
  stop(): void {
    this.stopping = true;
    this.abort.abort();
  }

  private newConsumer(): Kafka.KafkaConsumer {
    const { config } = this.deps;
    const c = new Kafka.KafkaConsumer(
      {
        'topic.metadata.refresh.interval.ms': 10_000,
        'bootstrap.servers': config.bootstrap,
        'client.id': config.clientId,
        ...config.extra,
        'group.id': config.groupId,
        'group.protocol': this.protocol,
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        'fetch.wait.max.ms': 10,
        // The database, not the group's commits, says where to read: see rebalance().
        rebalance_cb: (err: LibrdKafkaError | undefined, assignment: Kafka.Assignment[]) =>
          this.rebalance(c, err?.code, assignment),
      },
      { 'auto.offset.reset': 'earliest' },
    );
    c.on('event.error', (err) => {
      const e = err as LibrdKafkaError;
      if (
        this.protocol === 'consumer' &&
        (e.code === CODES.ERR__UNSUPPORTED_FEATURE || /ConsumerGroupHeartbeat|not supported/i.test(e.message ?? ''))
      ) {
        this.error = UNSUPPORTED_PROTOCOL;
        return;
      }
      this.deps.onClientError(e);
    });
    c.setDefaultConsumeTimeout(100);
    // Wait (up to the timeout) for the first message only, then take what is ready: otherwise a
    // trickle of events waits for a full batch and visibility suffers.
    (
      c as unknown as { setDefaultIsTimeoutOnlyForFirstMessage(v: boolean): void }
    ).setDefaultIsTimeoutOnlyForFirstMessage(true);
    return c;
  }

  private async consumeLoop(c: Kafka.KafkaConsumer): Promise<void> {
    while (!this.stopping && this.error !== UNSUPPORTED_PROTOCOL) {
      const messages = await this.consumeBatch(c);
      if (!(await this.soleMemberHolds(c))) return;
      if (messages.length === 0) continue;
      const batch: BusMessage[] = messages.map((m) => ({
        topic: m.topic,
        partition: m.partition,
        offset: m.offset,
        value: m.value ? m.value.toString('utf8') : '',
      }));
      const started = performance.now();
      if (!(await this.applyUntilDone(batch))) return;
      for (const m of batch)
        this.positions.set(m.partition, Math.max(this.positions.get(m.partition) ?? 0, m.offset + 1));
      this.commitHint(c, batch);
      if (batch.length < CONSUME_BATCH) await delay(coalesceMs(performance.now() - started), this.abort.signal);
    }
  }

  /**
   * Partitions are read from the offset the database has applied (from the log's start when it
   * has applied none), whatever the group committed: a new database on an old group applies the
   * whole log, and a position the log no longer holds shows up as a gap instead of a silent skip.
   * The offsets are read when the partitions are given, not taken from this member's memory:
   * a partition that comes back after another member held it would otherwise be read again from
   * where this member left it, every event the other applied since delivered for nothing.
   *
   * The callback cannot wait for the database, so the events are handled in a chain, each
   * after the one before: the assignment is made once the read returns. librdkafka waits for the
   * assign call, which need not come from the callback, only within the session timeout
   * (librdkafka#1323; the binding makes it from JavaScript after its native callback has returned
   * anyway, and its own KafkaJS layer assigns after awaiting the user's async listener), hence
   * ASSIGN_READ_MS. Nothing of the partitions is fetched before, so nothing is read from a stale
   * position.
   */
  private rebalance(c: Kafka.KafkaConsumer, code: number | undefined, assignment: Kafka.Assignment[]): void {
    this.rebalancing = this.rebalancing.then(() => this.rebalanceInOrder(c, code, assignment));
  }

  private async rebalanceInOrder(
    c: Kafka.KafkaConsumer,
    code: number | undefined,
    assignment: Kafka.Assignment[],
  ): Promise<void> {
    const inc = c as unknown as IncrementalAssignment;
    try {
      if (code === CODES.ERR__ASSIGN_PARTITIONS) {
        const at = await this.assignedAt(assignment);
        const cooperative = inc.rebalanceProtocol() === 'COOPERATIVE';
        if (!cooperative) this.assigned.clear();
        for (const a of assignment) this.assigned.add(a.partition);
        if (cooperative) inc.incrementalAssign(at);
        else c.assign(at);
      } else if (code === CODES.ERR__REVOKE_PARTITIONS) {
        const cooperative = inc.rebalanceProtocol() === 'COOPERATIVE';
        if (cooperative) for (const a of assignment) this.assigned.delete(a.partition);
        else this.assigned.clear();
        if (cooperative) inc.incrementalUnassign(assignment);
        else c.unassign();
      }
    } catch (e) {
      if (c.isConnected()) this.deps.logger.warn('kafka.rebalance_failed', { error: (e as Error).message });
    }
  }

  /** Where each given partition is read from: the database's applied offset, read now. */
  private async assignedAt(assignment: Kafka.Assignment[]): Promise<Kafka.Assignment[]> {
    const { config, logger, offsets } = this.deps;
    try {
      const applied = await withinMs(
        offsets.settledOffsets(
          config.topic,
          assignment.map((a) => a.partition),
        ),
        ASSIGN_READ_MS,
      );
      for (const { partition } of assignment) {
        const next = applied.get(partition);
        if (next === undefined) this.positions.delete(partition);
        else this.positions.set(partition, next);
      }
    } catch (err) {
      // Read from what this member knows: what the other members applied since is read again,
      // and skipped by the applier (its offsets and event ids), never applied twice.
      logger.warn('kafka.assign_offsets_unread', { error: (err as Error).message });
    }
    return assignment.map(({ topic, partition }) => ({
      topic,
      partition,
      offset: this.positions.get(partition) ?? OFFSET_BEGINNING,
    }));
  }

  /** False when another member holds part of the topic past the grace: the consumer stops and the app is told. */
  private async soleMemberHolds(c: Kafka.KafkaConsumer): Promise<boolean> {
    const sole = this.deps.soleMember;
    if (!sole || this.established) return true;
    this.topicPartitions ??= await partitionCount(c, this.deps.config.topic);
    const total = this.topicPartitions;
    if (total === undefined) return true;
    if (this.assigned.size >= total) {
      this.established = true;
      this.deps.logger.info('kafka.sole_member', { group: this.deps.config.groupId, partitions: total });
      this.shortSince = undefined;
      return true;
    }
    this.shortSince ??= Date.now();
    if (Date.now() - this.shortSince < sole.graceMs) return true;
    const { groupId, topic } = this.deps.config;
    const err = new Error(
      `refusing to run: consumer group ${groupId} has another member (it holds ${total - this.assigned.size} of ` +
        `the ${total} partitions of ${topic} after ${Math.round(sole.graceMs / 1000)} s), and this instance keeps its ` +
        'state in SQLite, which would see only its share of the events. Run one instance per group on SQLite, or ' +
        'set DATABASE_URL to one PostgreSQL database shared by every instance.',
    );
    this.error = err.message;
    this.deps.logger.error('kafka.group_not_sole_member', {
      group: groupId,
      held: this.assigned.size,
      partitions: total,
    });
    this.stopping = true;
    sole.refuse(err);
    return false;
  }

  private consumeBatch(c: Kafka.KafkaConsumer): Promise<Kafka.Message[]> {
    return new Promise<Kafka.Message[]>((resolve, reject) => {
      c.consume(CONSUME_BATCH, (err, msgs) => {
        if (err && (err as LibrdKafkaError).code !== CODES.ERR__TIMED_OUT) reject(new Error(err.message));
        else resolve(msgs ?? []);
      });
    }).catch((err: unknown) => {
      this.deps.logger.warn('kafka.consume_error', { error: (err as Error).message });
      return [];
    });
  }

  /** The same batch again until it applies: never skipped, and the loop never dies of it. False: stopped first. */
  private async applyUntilDone(batch: BusMessage[]): Promise<boolean> {
    for (;;) {
      try {
        await this.deps.handler(batch);
        this.error = undefined;
        return true;
      } catch (err) {
        this.error = `apply: ${(err as Error).message}`;
        this.deps.logger.error('stream.consumer_error', { step: 'apply', error: err as Error });
        // Stopping mid-retry is safe: nothing was committed, the next start reads these again.
        if (this.stopping) return false;
        await delay(500, this.abort.signal);
      }
    }
  }

  /**
   * Offsets live in SQLite; Kafka's commit only tells tools that watch the group, so it goes out
   * at most once a second (and when the consumer closes) rather than after every batch: each
   * commit cost the main thread as much as a small batch's statements.
   */
  private commitHint(c: Kafka.KafkaConsumer, batch: readonly BusMessage[]): void {
    for (const m of batch) this.hint.set(m.partition, Math.max(this.hint.get(m.partition) ?? 0, m.offset + 1));
    if (performance.now() - this.hintAt >= HINT_EVERY_MS) this.sendHint(c);
  }

  private sendHint(c: Kafka.KafkaConsumer): void {
    this.hintAt = performance.now();
    if (this.hint.size === 0) return;
    const offsets = [...this.hint].map(([partition, offset]) => ({ topic: this.deps.config.topic, partition, offset }));
    this.hint.clear();
    try {
      c.commit(offsets);
    } catch (err) {
      this.deps.logger.debug('kafka.commit_failed', { error: (err as Error).message });
    }
  }

  private closeConsumer(): Promise<void> {
    const c = this.consumer;
    this.consumer = undefined;
    if (!c) return Promise.resolve();
    this.sendHint(c);
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
}

/** The topic's partition count from the consumer's metadata; undefined when it cannot be had now. */
function partitionCount(c: Kafka.KafkaConsumer, topic: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    c.getMetadata({ topic, timeout: 2_000 }, (err, md) => {
      const n = md?.topics.find((t) => t.name === topic)?.partitions.length;
      resolve(err || !n ? undefined : n);
    });
  });
}

/** `p`'s value, or a rejection once `ms` have passed first. */
function withinMs<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
