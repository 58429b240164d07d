import crypto from 'node:crypto';
import os from 'node:os';
import Kafka from '@confluentinc/kafka-javascript';
import { delay, type Logger } from '../platform';
import { ensureTopic } from './kafka-admin';
import { CODES, type LibrdKafkaError, connectClient } from './kafka-client';
import type { KafkaConfig } from './types';

/** The control topic's only partition used: one partition orders every beacon, so "who came first" needs no clocks. */
const PARTITION = 0;

export interface GroupBeaconDeps {
  config: KafkaConfig;
  logger: Logger;
  /** How often this member says it is alive. */
  everyMs: number;
  /** This instance's name, shown to the member that refuses. */
  instance: string;
  /** Called once when an older live member of the same group is seen: this instance must not run. */
  refuse: (err: Error) => void;
}

interface Beacon {
  group: string;
  member: string;
  instance: string;
  host: string;
  pid: number;
  seq: number;
}

/**
 * Each member whose state is SQLite says "I consume this group" on a small control topic
 * (`<topic>.members`) every `everyMs`, and reads the others' beacons. A member that sees another
 * member of its group alive (two beacons) that began before it refuses to run: the newer one goes,
 * the older one is untouched. Unlike the group's assignment, this tells a live member from a
 * crashed one still registered until its session times out: the dead say nothing.
 *
 * Age without clocks: every beacon is read from the control partition's end as it stood before
 * this member's first beacon. A member whose first beacon (seq 0) was read came after or before
 * this one by offset; one first read at seq > 0 began before this member's first beacon.
 */
export class GroupBeacon {
  readonly topic: string;
  private readonly member = crypto.randomBytes(6).toString('hex');
  private producer: Kafka.Producer | undefined;
  private reader: Kafka.KafkaConsumer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private seq = 0;
  /** This member's first beacon's offset, once read back. */
  private mine: number | undefined;
  /** Other members of the group: where their first beacon was read (-Infinity: before ours), and how many were. */
  private readonly others = new Map<string, { first: number; seen: number; beacon: Beacon }>();
  private refused = false;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();

  constructor(private readonly deps: GroupBeaconDeps) {
    this.topic = `${deps.config.topic}.members`;
  }

  /**
   * Starts in the background, and starts again while the control topic cannot be used (logged
   * once); meanwhile the group's own, slower check remains.
   */
  start(): void {
    this.loop = (async () => {
      for (let attempt = 1; !this.stopped; attempt++) {
        try {
          return await this.run();
        } catch (err) {
          if (attempt === 1)
            this.deps.logger.warn('kafka.beacon_unavailable', { topic: this.topic, error: (err as Error).message });
        }
        clearInterval(this.timer);
        await this.close();
        await delay(5_000, this.abort.signal);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    clearInterval(this.timer);
    this.timer = undefined;
    await this.loop;
    await this.close();
  }

  private async close(): Promise<void> {
    const [p, r] = [this.producer, this.reader];
    this.producer = undefined;
    this.reader = undefined;
    await Promise.all([p && disconnect(p), r && disconnect(r)]);
  }

  private async run(): Promise<void> {
    const { config } = this.deps;
    const base = { 'bootstrap.servers': config.bootstrap, 'client.id': config.clientId, ...config.extra };
    const producer = new Kafka.Producer({
      ...base,
      'allow.auto.create.topics': true,
      'linger.ms': 0,
    });
    this.producer = producer;
    await connectClient(producer, 10_000);
    // Only the last few seconds of beacons are ever read.
    await ensureTopic(producer, { ...config, topic: this.topic, partitions: 1 }, this.deps.logger, {
      'retention.ms': String(3_600_000),
    });
    const reader = new Kafka.KafkaConsumer(
      // Never subscribes: reads the partition by assignment, joins no group, commits nothing.
      { ...base, 'group.id': `${config.groupId}.beacon`, 'enable.auto.commit': false },
      {},
    );
    this.reader = reader;
    await connectClient(reader, 10_000);
    const from = await this.endOffset(reader);
    if (from === undefined) return;
    reader.assign([{ topic: this.topic, partition: PARTITION, offset: from }]);
    reader.setDefaultConsumeTimeout(200);
    this.send();
    this.timer = setInterval(() => this.send(), this.deps.everyMs);
    this.timer.unref();
    this.deps.logger.info('kafka.beacon_started', { topic: this.topic, group: config.groupId, from });
    while (!this.stopped && !this.refused) {
      const msgs = await consume(reader);
      if (!msgs) await delay(500);
      for (const m of msgs ?? []) if (m.value) this.read(m.value, m.offset);
    }
  }

  /** The control partition's high watermark, asked until it answers (the topic may have just been created). */
  private async endOffset(reader: Kafka.KafkaConsumer): Promise<number | undefined> {
    while (!this.stopped) {
      const high = await new Promise<number | undefined>((resolve) => {
        reader.queryWatermarkOffsets(this.topic, PARTITION, 2_000, (err, w) => resolve(err ? undefined : w.highOffset));
      });
      if (high !== undefined) return high;
      await delay(200);
    }
    return undefined;
  }

  private send(): void {
    const { config, instance } = this.deps;
    const b: Beacon = {
      group: config.groupId,
      member: this.member,
      instance,
      host: os.hostname(),
      pid: process.pid,
      seq: this.seq,
    };
    try {
      this.producer?.produce(this.topic, PARTITION, Buffer.from(JSON.stringify(b)), config.groupId);
      this.seq++;
    } catch (err) {
      if ((err as LibrdKafkaError).code !== CODES.ERR__QUEUE_FULL)
        this.deps.logger.debug('kafka.beacon_failed', { error: (err as Error).message });
    }
  }

  private read(value: Buffer, offset: number): void {
    let b: Beacon;
    try {
      b = JSON.parse(value.toString('utf8')) as Beacon;
    } catch {
      return;
    }
    if (b.group !== this.deps.config.groupId) return;
    if (b.member === this.member) {
      if (b.seq === 0) this.mine = offset;
      return;
    }
    const o = this.others.get(b.member) ?? { first: b.seq === 0 ? offset : -Infinity, seen: 0, beacon: b };
    o.seen++;
    o.beacon = b;
    this.others.set(b.member, o);
    this.judge();
  }

  /** Two beacons (so not the last word of a member that was stopping) from one that began first. */
  private judge(): void {
    if (this.refused) return;
    for (const o of this.others.values()) {
      const older = o.first === -Infinity || (this.mine !== undefined && o.first < this.mine);
      if (!older || o.seen < 2) continue;
      this.refused = true;
      clearInterval(this.timer);
      const { groupId, topic } = this.deps.config;
      const { instance, host, pid } = o.beacon;
      this.deps.logger.error('kafka.group_not_sole_member', { group: groupId, other: instance, host, pid });
      this.deps.refuse(
        new Error(
          `refusing to run: consumer group ${groupId} on ${topic} already has a live member (instance ${instance}, ` +
            `pid ${pid} on ${host}), and this instance keeps its state in SQLite, which would see only its share of ` +
            'the events. Run one instance per group on SQLite (or give this one its own KAFKA_GROUP_ID), or set ' +
            'DATABASE_URL to one PostgreSQL database shared by every instance.',
        ),
      );
      return;
    }
  }
}

/** What the reader has; undefined on an error (retried after a pause). */
function consume(c: Kafka.KafkaConsumer): Promise<Kafka.Message[] | undefined> {
  return new Promise((resolve) => c.consume(100, (err, msgs) => resolve(err ? undefined : (msgs ?? []))));
}

function disconnect(c: Kafka.Producer | Kafka.KafkaConsumer): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, 5_000);
    try {
      (c as Kafka.KafkaConsumer).disconnect(() => {
        clearTimeout(t);
        resolve();
      });
    } catch {
      clearTimeout(t);
      resolve();
    }
  });
}
