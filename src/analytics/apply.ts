import { EventEmitter } from 'node:events';
import type { Kysely } from 'kysely';
import { type Db, bulkWrite, isDataError, type BucketResolution, type DB, type DatasetStatsTable } from '../db';
import { type Clock, type Logger, chunks, groupBy } from '../platform';
import { decodeEvent, type OffsetsRepository, type BatchHandler, type BusEvent, type BusMessage } from '../stream';
import { bucketStart } from './buckets';
import { HALF_LIVES } from './decay';

/** Rows per multi-row statement: well under SQLite's 32,766 bound parameters. */
const CHUNK = 500;

export interface AppliedBatch {
  applied: number;
  duplicates: number;
  deadLettered: number;
  /** ts of every applied event, for visibility-latency measurements. */
  eventTs: number[];
  appliedAt: number;
  /** How long the batch's transaction took (0 for a dead-lettered poison message). */
  ms?: number;
}

interface DeadLetter {
  msg: BusMessage;
  reason: string;
}

/**
 * Applies batches of bus messages to per-dataset statistics and time buckets, exactly once in
 * effect: the offsets applied are stored in the same SQLite transaction as the statistics, and
 * messages below the stored offsets (replays) or with an event id already seen are skipped.
 * A message that cannot be parsed or applied goes to the dead letters; it never stops the loop.
 */
export class StatsApplier {
  private readonly emitter = new EventEmitter();

  constructor(
    private readonly db: Db,
    private readonly offsets: OffsetsRepository,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.emitter.setMaxListeners(0);
  }

  readonly handler: BatchHandler = (messages) => this.apply(messages);

  /** Called after every committed batch. */
  onApplied(listener: (b: AppliedBatch) => void): () => void {
    this.emitter.on('applied', listener);
    return () => this.emitter.off('applied', listener);
  }

  /**
   * Applies a batch in one transaction. When SQLite refuses it for something in the data (a
   * constraint, a type), the batch is split in halves until the offending message stands alone,
   * and that one goes to the dead letters: one bad event never blocks the others. Any other
   * error (disk full, I/O) propagates, and the bus delivers the batch again later.
   */
  async apply(messages: BusMessage[]): Promise<void> {
    if (messages.length === 0) return;
    try {
      await this.applyBatch(messages);
    } catch (err) {
      if (!isDataError(err)) throw err;
      if (messages.length === 1) {
        await this.deadLetterAlone(messages[0]!, err);
        return;
      }
      const mid = messages.length >> 1;
      await this.apply(messages.slice(0, mid));
      await this.apply(messages.slice(mid));
    }
  }

  private async deadLetterAlone(msg: BusMessage, err: unknown): Promise<void> {
    const now = this.clock.now();
    const reason = `could not be applied: ${(err as { message?: string }).message ?? String(err)}`;
    await this.db.transaction().execute(async (trx) => {
      const stored = (await this.offsets.nextOffsets(msg.topic, trx)).get(msg.partition) ?? 0;
      if (msg.offset < stored) return;
      await this.offsets.store(trx, msg.topic, new Map([[msg.partition, msg.offset + 1]]), now);
      await trx
        .insertInto('dead_letters')
        .values({
          created_at: now,
          topic: msg.topic,
          partition: msg.partition,
          offset: msg.offset,
          payload: msg.value.slice(0, 65_536),
          reason,
        })
        .execute();
    });
    this.logger.warn('stream.dead_letter', { topic: msg.topic, partition: msg.partition, offset: msg.offset, reason });
    this.emitter.emit('applied', { applied: 0, duplicates: 0, deadLettered: 1, eventTs: [], appliedAt: now });
  }

  private async applyBatch(messages: BusMessage[]): Promise<void> {
    const started = Date.now();
    const result = await this.db.transaction().execute(async (trx) => this.applyIn(trx, messages));
    const appliedAt = this.clock.now();
    if (result.applied + result.deadLettered > 0) {
      this.logger.debug('stream.batch_applied', {
        messages: messages.length,
        applied: result.applied,
        duplicates: result.duplicates,
        dead_lettered: result.deadLettered,
        ms: Date.now() - started,
      });
    }
    this.emitter.emit('applied', { ...result, appliedAt, ms: Date.now() - started });
  }

  private async applyIn(trx: Kysely<DB>, messages: BusMessage[]): Promise<Omit<AppliedBatch, 'appliedAt'>> {
    const now = this.clock.now();
    const byTopic = groupBy(messages, (m) => m.topic);
    const fresh: BusMessage[] = [];
    let duplicates = 0;
    for (const [topic, msgs] of byTopic) {
      const stored = await this.offsets.nextOffsets(topic, trx);
      const next = new Map<number, number>();
      for (const m of msgs) {
        if (m.offset < (stored.get(m.partition) ?? 0)) {
          duplicates++;
          continue;
        }
        fresh.push(m);
        next.set(m.partition, Math.max(next.get(m.partition) ?? 0, m.offset + 1));
      }
      await this.offsets.store(trx, topic, next, now);
    }

    const dead: DeadLetter[] = [];
    const decoded: Array<{ msg: BusMessage; event: BusEvent }> = [];
    for (const msg of fresh) {
      const d = decodeEvent(msg.value);
      if (d.ok) decoded.push({ msg, event: d.event });
      else dead.push({ msg, reason: d.reason });
    }

    // Idempotency keys: drop repeats within the batch and against those already seen.
    const ids = [...new Set(decoded.flatMap((d) => (d.event.id === undefined ? [] : [d.event.id])))];
    const seen = new Set<string>();
    for (const part of chunks(ids, CHUNK * 4)) {
      const rows = await trx.selectFrom('event_ids').select('id').where('id', 'in', part).execute();
      for (const r of rows) seen.add(r.id);
    }
    const datasetIds = [...new Set(decoded.map((d) => d.event.dataset_id))];
    const known = new Set<number>();
    for (const part of chunks(datasetIds, CHUNK * 4)) {
      const rows = await trx.selectFrom('datasets').select('id').where('id', 'in', part).execute();
      for (const r of rows) known.add(r.id);
    }

    const events: BusEvent[] = [];
    const newIds: Array<{ id: string; dataset_id: number; seen_at: number }> = [];
    for (const { msg, event } of decoded) {
      if (!known.has(event.dataset_id)) {
        dead.push({ msg, reason: `unknown dataset ${event.dataset_id} (deleted after the event was accepted?)` });
        continue;
      }
      if (event.id !== undefined) {
        if (seen.has(event.id)) {
          duplicates++;
          continue;
        }
        seen.add(event.id);
        newIds.push({ id: event.id, dataset_id: event.dataset_id, seen_at: now });
      }
      events.push(event);
    }

    const { rolled_until } = await trx
      .selectFrom('bucket_rollup')
      .select('rolled_until')
      .where('id', '=', 1)
      .executeTakeFirstOrThrow();
    await this.writeStats(trx, events);
    await this.writeBuckets(trx, events, rolled_until);
    await bulkWrite(
      trx,
      'insert into event_ids (id, dataset_id, seen_at)',
      '',
      3,
      newIds.map((r) => [r.id, r.dataset_id, r.seen_at]),
    );
    for (const part of chunks(dead, CHUNK)) {
      await trx
        .insertInto('dead_letters')
        .values(
          part.map((d) => ({
            created_at: now,
            topic: d.msg.topic,
            partition: d.msg.partition,
            offset: d.msg.offset,
            payload: d.msg.value.length > 65_536 ? d.msg.value.slice(0, 65_536) : d.msg.value,
            reason: d.reason,
          })),
        )
        .execute();
    }
    for (const d of dead) {
      this.logger.warn('stream.dead_letter', {
        topic: d.msg.topic,
        partition: d.msg.partition,
        offset: d.msg.offset,
        reason: d.reason,
      });
    }
    return { applied: events.length, duplicates, deadLettered: dead.length, eventTs: events.map((e) => e.ts) };
  }

  private async writeStats(trx: Kysely<DB>, events: BusEvent[]): Promise<void> {
    const rows: unknown[][] = [];
    for (const [datasetId, evs] of groupBy(events, (e) => e.dataset_id)) {
      const a = aggregate(datasetId, evs);
      rows.push([
        a.dataset_id,
        a.reads,
        a.writes,
        a.scans,
        a.bytes_read,
        a.bytes_written,
        a.first_access,
        a.last_access,
        a.decay_at,
        a.decay_1h,
        a.decay_1d,
        a.decay_1w,
        a.decay_30d,
      ]);
    }
    await bulkWrite(trx, STATS_HEAD, STATS_TAIL, 13, rows);
  }

  /**
   * Minute buckets always; hour and day buckets only for events whose minute the rollup has
   * already passed (late events), since the rollup adds every other minute to them later.
   */
  private async writeBuckets(trx: Kysely<DB>, events: BusEvent[], rolledUntil: number): Promise<void> {
    const buckets = new Map<string, unknown[]>();
    const add = (e: BusEvent, res: BucketResolution): void => {
      const start = bucketStart(e.ts, res);
      const key = `${e.dataset_id}:${res}:${start}`;
      let b = buckets.get(key);
      if (!b) {
        b = [e.dataset_id, res, start, 0, 0, 0, 0];
        buckets.set(key, b);
      }
      if (e.type === 'read') (b[3] as number)++;
      else (b[4] as number)++;
      if (e.scan) (b[5] as number)++;
      (b[6] as number) += e.bytes;
    };
    for (const e of events) {
      add(e, 'm');
      if (bucketStart(e.ts, 'm') < rolledUntil) {
        add(e, 'h');
        add(e, 'd');
      }
    }
    await bulkWrite(trx, BUCKETS_HEAD, BUCKETS_TAIL, 7, [...buckets.values()]);
  }
}

const STATS_HEAD =
  'insert into dataset_stats (dataset_id, reads, writes, scans, bytes_read, bytes_written, first_access, last_access, decay_at, decay_1h, decay_1d, decay_1w, decay_30d)';
/** The merge of decayed sums (see decay.ts) done in SQL: no read of the old row needed. */
const decayMerge = (col: string, halfLifeMs: number): string =>
  `${col} = ${col} * pow(2, (decay_at - max(decay_at, excluded.decay_at)) / ${halfLifeMs}.0)` +
  ` + excluded.${col} * pow(2, (excluded.decay_at - max(decay_at, excluded.decay_at)) / ${halfLifeMs}.0)`;
const STATS_TAIL = `on conflict (dataset_id) do update set
  reads = reads + excluded.reads,
  writes = writes + excluded.writes,
  scans = scans + excluded.scans,
  bytes_read = bytes_read + excluded.bytes_read,
  bytes_written = bytes_written + excluded.bytes_written,
  first_access = min(coalesce(first_access, excluded.first_access), excluded.first_access),
  last_access = max(coalesce(last_access, excluded.last_access), excluded.last_access),
  ${decayMerge('decay_1h', HALF_LIVES['1h'])},
  ${decayMerge('decay_1d', HALF_LIVES['1d'])},
  ${decayMerge('decay_1w', HALF_LIVES['1w'])},
  ${decayMerge('decay_30d', HALF_LIVES['30d'])},
  decay_at = max(decay_at, excluded.decay_at)`;

const BUCKETS_HEAD = 'insert into access_buckets (dataset_id, res, bucket_start, reads, writes, scans, bytes)';
const BUCKETS_TAIL = `on conflict (dataset_id, res, bucket_start) do update set
  reads = reads + excluded.reads,
  writes = writes + excluded.writes,
  scans = scans + excluded.scans,
  bytes = bytes + excluded.bytes`;

/**
 * One dataset's events of one batch as a statistics delta: counts, first and last access, and
 * the batch's decayed sums referenced at its latest non-scan event. Scans never warm a dataset:
 * a batch of scans only carries decay_at 0 and sums 0, which the merge leaves without effect.
 */
export function aggregate(datasetId: number, events: readonly BusEvent[]): DatasetStatsTable {
  const row: DatasetStatsTable = {
    dataset_id: datasetId,
    reads: 0,
    writes: 0,
    scans: 0,
    bytes_read: 0,
    bytes_written: 0,
    first_access: null,
    last_access: null,
    decay_at: 0,
    decay_1h: 0,
    decay_1d: 0,
    decay_1w: 0,
    decay_30d: 0,
  };
  let warmAt = -Infinity;
  for (const e of events) {
    if (e.type === 'read') {
      row.reads++;
      row.bytes_read += e.bytes;
    } else {
      row.writes++;
      row.bytes_written += e.bytes;
    }
    if (e.scan) row.scans++;
    else if (e.ts > warmAt) warmAt = e.ts;
    row.first_access = row.first_access === null ? e.ts : Math.min(row.first_access, e.ts);
    row.last_access = row.last_access === null ? e.ts : Math.max(row.last_access, e.ts);
  }
  if (warmAt === -Infinity) return row;
  row.decay_at = warmAt;
  for (const e of events) {
    if (e.scan) continue;
    const age = warmAt - e.ts;
    row.decay_1h += Math.pow(2, -age / HALF_LIVES['1h']);
    row.decay_1d += Math.pow(2, -age / HALF_LIVES['1d']);
    row.decay_1w += Math.pow(2, -age / HALF_LIVES['1w']);
    row.decay_30d += Math.pow(2, -age / HALF_LIVES['30d']);
  }
  return row;
}
