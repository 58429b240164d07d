import { EventEmitter } from 'node:events';
import type { Kysely } from 'kysely';
import { type DB, isDataError, together } from '../db';
import type { Clock, Logger } from '../platform';
import type { DeadLettersRepository, NewDeadLetter } from './dead-letters-repository';
import { type LostRange, type Refused, decodeAll, eventIdsOf, pastStoredOffsets, withoutSeenIds } from './dedup';
import type { EventIdsRepository } from './event-ids-repository';
import type { GapsRepository } from './gaps-repository';
import type { OffsetsRepository } from './offsets-repository';
import type { BatchHandler, BusEvent, BusMessage } from './types';

/** An event the effect would not apply, and why: it goes to the dead letters. */
export interface Rejection {
  /** The very object the effect was given (matched by identity to its message). */
  event: BusEvent;
  reason: string;
}

/**
 * What a batch does, run inside the exactly-once transaction: whatever it writes through `trx`
 * commits together with the offsets and event ids, or not at all. It gets each event once.
 */
export type BatchEffect = (trx: Kysely<DB>, events: BusEvent[]) => Promise<Rejection[]>;

export interface AppliedBatch {
  applied: number;
  /** Skipped as already applied: `replayed` plus events whose id was seen before. */
  duplicates: number;
  /**
   * Messages delivered again below the offset the database had applied for their partition (a
   * consumer that read from a stale position: a crash, a rebalance): read for nothing.
   */
  replayed: number;
  deadLettered: number;
  /** ts of every applied event, for visibility-latency measurements. */
  eventTs: number[];
  appliedAt: number;
  /** Stretches of the log found gone before they were applied (see dedup.ts). */
  gaps: LostRange[];
  /** How long the batch's transaction took (absent for a dead-lettered poison message). */
  ms?: number;
}

export interface AppliedOnceDeps {
  db: Kysely<DB>;
  offsets: OffsetsRepository;
  eventIds: EventIdsRepository;
  deadLetters: DeadLettersRepository;
  gaps: GapsRepository;
  effect: BatchEffect;
  clock: Clock;
  logger: Logger;
}

/**
 * Applies batches of bus messages exactly once in effect: in one transaction per batch it skips
 * messages below the stored offsets (replays) and events whose id was already seen, sends what
 * cannot be parsed or applied to the dead letters, runs the effect on the rest, and stores the
 * offsets and event ids. A bad message never stops the loop.
 */
export class AppliedOnce {
  private readonly emitter = new EventEmitter();

  constructor(private readonly deps: AppliedOnceDeps) {
    this.emitter.setMaxListeners(0);
  }

  /** What a bus calls with each batch. */
  readonly handler: BatchHandler = (messages) => this.apply(messages);

  /** Called after every committed batch. */
  onApplied(listener: (b: AppliedBatch) => void): () => void {
    this.emitter.on('applied', listener);
    return () => this.emitter.off('applied', listener);
  }

  /**
   * Called when the database refused a batch for something in its data and the batch is split to
   * find the event (once per refused batch, not per half): the totals stay right either way, so
   * this is how a statement every batch fails shows itself, as slowness and this count.
   */
  onSplit(listener: (s: { messages: number; reason: string }) => void): () => void {
    this.emitter.on('split', listener);
    return () => this.emitter.off('split', listener);
  }

  /**
   * Applies a batch in one transaction. When SQLite refuses it for something in the data (a
   * constraint, a type), the batch is split in halves until the offending message stands alone,
   * and that one goes to the dead letters: one bad event never blocks the others. Any other
   * error (disk full, I/O) propagates, and the bus delivers the batch again later.
   */
  async apply(messages: BusMessage[], halved = false): Promise<void> {
    if (messages.length === 0) return;
    try {
      await this.applyBatch(messages);
    } catch (err) {
      if (!isDataError(err)) throw err;
      if (messages.length === 1) {
        await this.deadLetterAlone(messages[0]!, err);
        return;
      }
      if (!halved) {
        const reason = (err as { message?: string }).message ?? String(err);
        this.deps.logger.warn('stream.batch_split', { messages: messages.length, reason });
        this.emitter.emit('split', { messages: messages.length, reason });
      }
      const mid = messages.length >> 1;
      await this.apply(messages.slice(0, mid), true);
      await this.apply(messages.slice(mid), true);
    }
  }

  private async deadLetterAlone(msg: BusMessage, err: unknown): Promise<void> {
    const { db, offsets, deadLetters, gaps: lost, clock } = this.deps;
    const now = clock.now();
    const reason = `could not be applied: ${(err as { message?: string }).message ?? String(err)}`;
    const gaps = await db.transaction().execute(async (trx) => {
      await offsets.lockPartitions(trx, msg.topic, [msg.partition]);
      const stored = new Map([[msg.topic, await offsets.nextOffsets(msg.topic, trx)]]);
      const { fresh, next, gaps } = pastStoredOffsets([msg], stored);
      if (fresh.length === 0) return undefined;
      for (const [topic, perPartition] of next) await offsets.store(trx, topic, perPartition, now);
      await lost.record(trx, gaps, now);
      await deadLetters.add(trx, [deadLetterRow({ msg, reason }, now)]);
      return gaps;
    });
    if (!gaps) return;
    this.logDead([{ msg, reason }]);
    this.logGaps(gaps);
    const batch: AppliedBatch = {
      applied: 0,
      duplicates: 0,
      replayed: 0,
      deadLettered: 1,
      eventTs: [],
      appliedAt: now,
      gaps,
    };
    this.emitter.emit('applied', batch);
  }

  private async applyBatch(messages: BusMessage[]): Promise<void> {
    const started = Date.now();
    const { result, dead } = await this.deps.db.transaction().execute((trx) => this.applyIn(trx, messages));
    this.logDead(dead);
    this.logGaps(result.gaps);
    if (result.replayed > 0) this.deps.logger.info('stream.redelivered_skipped', { events: result.replayed });
    const appliedAt = this.deps.clock.now();
    if (result.applied + result.deadLettered > 0) {
      this.deps.logger.debug('stream.batch_applied', {
        messages: messages.length,
        applied: result.applied,
        duplicates: result.duplicates,
        dead_lettered: result.deadLettered,
        ms: Date.now() - started,
      });
    }
    this.emitter.emit('applied', { ...result, appliedAt, ms: Date.now() - started });
  }

  private async applyIn(
    trx: Kysely<DB>,
    messages: BusMessage[],
  ): Promise<{ result: Omit<AppliedBatch, 'appliedAt'>; dead: Refused[] }> {
    const { offsets, eventIds, deadLetters, gaps: lost, effect, clock } = this.deps;
    const now = clock.now();
    // Statements that do not need each other's answers go out together (see `together`): four
    // round trips on the writer connection for a plain batch instead of eight.
    const topics = [...new Set(messages.map((m) => m.topic))].sort();
    for (const topic of topics) {
      const partitions = messages.flatMap((m) => (m.topic === topic ? [m.partition] : []));
      await offsets.lockPartitions(trx, topic, partitions);
    }
    // Decoded before the offsets are known (a replayed message is decoded for nothing; replays are rare).
    const all = decodeAll(messages);
    const [perTopic, seen] = await together([
      together(topics.map((topic) => offsets.nextOffsets(topic, trx))),
      eventIds.seen(trx, eventIdsOf(all.decoded)),
    ]);
    const stored = new Map(topics.map((topic, i) => [topic, perTopic[i]!]));
    const { fresh, replayed, next, gaps } = pastStoredOffsets(messages, stored);
    const isFresh = new Set(fresh);
    const decoded = all.decoded.filter((d) => isFresh.has(d.msg));
    const refused = all.refused.filter((r) => isFresh.has(r.msg));
    const { unique, repeated } = withoutSeenIds(decoded, seen);
    const [rejections] = await together([
      effect(
        trx,
        unique.map((d) => d.event),
      ),
      together([...next].map(([topic, perPartition]) => offsets.store(trx, topic, perPartition, now))),
      lost.record(trx, gaps, now),
    ]);
    const rejected = new Map(rejections.map((r) => [r.event, r.reason]));
    const applied = unique.filter((d) => !rejected.has(d.event));
    const dead = [
      ...refused,
      ...unique.flatMap((d) => {
        const reason = rejected.get(d.event);
        return reason === undefined ? [] : [{ msg: d.msg, reason }];
      }),
    ];
    await together([
      eventIds.record(
        trx,
        applied.flatMap(({ event }) =>
          event.id === undefined ? [] : [{ id: event.id, dataset_id: event.dataset_id, seen_at: now }],
        ),
      ),
      deadLetters.add(
        trx,
        dead.map((d) => deadLetterRow(d, now)),
      ),
    ]);
    const result = {
      applied: applied.length,
      duplicates: replayed + repeated,
      replayed,
      deadLettered: dead.length,
      eventTs: applied.map((d) => d.event.ts),
      gaps,
    };
    return { result, dead };
  }

  /** Acknowledged events that will never be applied: loud, and once (the offsets moved past them). */
  private logGaps(gaps: readonly LostRange[]): void {
    for (const g of gaps) this.deps.logger.error('stream.gap', { ...g, events: g.to_offset - g.from_offset });
  }

  private logDead(dead: readonly Refused[]): void {
    for (const d of dead) {
      this.deps.logger.warn('stream.dead_letter', {
        topic: d.msg.topic,
        partition: d.msg.partition,
        offset: d.msg.offset,
        reason: d.reason,
      });
    }
  }
}

function deadLetterRow(d: Refused, now: number): NewDeadLetter {
  const { topic, partition, offset, value } = d.msg;
  return { created_at: now, topic, partition, offset, payload: value, reason: d.reason };
}
