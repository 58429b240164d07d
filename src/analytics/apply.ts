import { EventEmitter } from 'node:events';
import type { Kysely } from 'kysely';
import type { Db } from '../db/database';
import type { AccessBucketsTable, DB, DatasetStatsTable } from '../db/schema';
import type { Clock } from '../platform/clock';
import type { Logger } from '../platform/logger';
import { chunks, groupBy } from '../platform/collections';
import { decodeEvent } from '../stream/event-codec';
import type { OffsetsRepository } from '../stream/offsets-repository';
import type { BatchHandler, BusEvent, BusMessage } from '../stream/types';
import { RESOLUTIONS, bucketStart } from './buckets';
import { HALF_LIVES, mergeDecayed, type DecayedSum } from './decay';

/** Rows per multi-row statement: well under SQLite's 32,766 bound parameters. */
const CHUNK = 500;

export interface AppliedBatch {
  applied: number;
  duplicates: number;
  deadLettered: number;
  /** received_at of every applied event, for visibility-latency measurements. */
  receivedAt: number[];
  appliedAt: number;
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

  async apply(messages: BusMessage[]): Promise<void> {
    if (messages.length === 0) return;
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
    this.emitter.emit('applied', { ...result, appliedAt });
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

    await this.writeStats(trx, events);
    await this.writeBuckets(trx, events);
    for (const part of chunks(newIds, CHUNK)) await trx.insertInto('event_ids').values(part).execute();
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
      this.logger.warn('stream.dead_letter', { topic: d.msg.topic, partition: d.msg.partition, offset: d.msg.offset, reason: d.reason });
    }
    return { applied: events.length, duplicates, deadLettered: dead.length, receivedAt: events.map((e) => e.received_at) };
  }

  private async writeStats(trx: Kysely<DB>, events: BusEvent[]): Promise<void> {
    const perDataset = groupBy(events, (e) => e.dataset_id);
    const ids = [...perDataset.keys()];
    const existing = new Map<number, DatasetStatsTable>();
    for (const part of chunks(ids, CHUNK * 4)) {
      const rows = await trx.selectFrom('dataset_stats').selectAll().where('dataset_id', 'in', part).execute();
      for (const r of rows) existing.set(r.dataset_id, r);
    }
    const rows: DatasetStatsTable[] = [];
    for (const [datasetId, evs] of perDataset) {
      rows.push(accumulate(existing.get(datasetId), datasetId, evs));
    }
    for (const part of chunks(rows, CHUNK)) {
      await trx
        .insertInto('dataset_stats')
        .values(part)
        .onConflict((oc) =>
          oc.column('dataset_id').doUpdateSet((eb) => ({
            reads: eb.ref('excluded.reads'),
            writes: eb.ref('excluded.writes'),
            scans: eb.ref('excluded.scans'),
            bytes_read: eb.ref('excluded.bytes_read'),
            bytes_written: eb.ref('excluded.bytes_written'),
            first_access: eb.ref('excluded.first_access'),
            last_access: eb.ref('excluded.last_access'),
            decay_at: eb.ref('excluded.decay_at'),
            decay_1h: eb.ref('excluded.decay_1h'),
            decay_1d: eb.ref('excluded.decay_1d'),
            decay_1w: eb.ref('excluded.decay_1w'),
          })),
        )
        .execute();
    }
  }

  private async writeBuckets(trx: Kysely<DB>, events: BusEvent[]): Promise<void> {
    const buckets = new Map<string, AccessBucketsTable>();
    for (const e of events) {
      for (const res of RESOLUTIONS) {
        const start = bucketStart(e.ts, res);
        const key = `${e.dataset_id}:${res}:${start}`;
        let b = buckets.get(key);
        if (!b) {
          b = { dataset_id: e.dataset_id, res, bucket_start: start, reads: 0, writes: 0, scans: 0, bytes: 0 };
          buckets.set(key, b);
        }
        if (e.type === 'read') b.reads++;
        else b.writes++;
        if (e.scan) b.scans++;
        b.bytes += e.bytes;
      }
    }
    for (const part of chunks([...buckets.values()], CHUNK)) {
      await trx
        .insertInto('access_buckets')
        .values(part)
        .onConflict((oc) =>
          oc.columns(['dataset_id', 'res', 'bucket_start']).doUpdateSet((eb) => ({
            reads: eb('access_buckets.reads', '+', eb.ref('excluded.reads')),
            writes: eb('access_buckets.writes', '+', eb.ref('excluded.writes')),
            scans: eb('access_buckets.scans', '+', eb.ref('excluded.scans')),
            bytes: eb('access_buckets.bytes', '+', eb.ref('excluded.bytes')),
          })),
        )
        .execute();
    }
  }
}

/** Folds a dataset's events of one batch into its statistics row. Pure; exported for tests. */
export function accumulate(prev: DatasetStatsTable | undefined, datasetId: number, events: BusEvent[]): DatasetStatsTable {
  const row: DatasetStatsTable = prev
    ? { ...prev }
    : {
        dataset_id: datasetId,
        reads: 0,
        writes: 0,
        scans: 0,
        bytes_read: 0,
        bytes_written: 0,
        first_access: null,
        last_access: null,
        decay_at: events[0]!.ts,
        decay_1h: 0,
        decay_1d: 0,
        decay_1w: 0,
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
    else warmAt = Math.max(warmAt, e.ts);
    row.first_access = row.first_access === null ? e.ts : Math.min(row.first_access, e.ts);
    row.last_access = row.last_access === null ? e.ts : Math.max(row.last_access, e.ts);
  }
  if (warmAt === -Infinity) return row; // only scans: they never warm a dataset
  const batch: Record<keyof typeof HALF_LIVES, number> = { '1h': 0, '1d': 0, '1w': 0 };
  for (const e of events) {
    if (e.scan) continue;
    for (const name of Object.keys(HALF_LIVES) as Array<keyof typeof HALF_LIVES>) {
      batch[name] += Math.pow(2, -(warmAt - e.ts) / HALF_LIVES[name]);
    }
  }
  const merge = (old: number, name: keyof typeof HALF_LIVES): DecayedSum =>
    mergeDecayed({ at: row.decay_at, value: old }, { at: warmAt, value: batch[name] }, HALF_LIVES[name]);
  const h = merge(row.decay_1h, '1h');
  const d = merge(row.decay_1d, '1d');
  const w = merge(row.decay_1w, '1w');
  row.decay_at = h.at;
  row.decay_1h = h.value;
  row.decay_1d = d.value;
  row.decay_1w = w.value;
  return row;
}
