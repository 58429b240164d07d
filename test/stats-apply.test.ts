import { StatsRepository } from '../src/analytics';
import type { Database } from '../src/db';
import { ManualClock, createLogger } from '../src/platform';
import {
  type AppliedOnce,
  type AppliedBatch,
  type BatchEffect,
  GapsRepository,
  type BusEvent,
  type BusMessage,
} from '../src/stream';
import { insertDatasets, openDatabase, statsApplier } from './support/database';

const H = 3_600_000;
const T0 = Date.UTC(2026, 2, 1, 10, 0, 0);

describe('applying batches to statistics in SQLite', () => {
  let database: Database;
  let applier: AppliedOnce;
  let stats: StatsRepository;
  let offset = 0;
  const clock = new ManualClock(T0);
  const logger = createLogger('silent');

  beforeEach(async () => {
    database = await openDatabase('sqlite', { logger });
    await insertDatasets(database.db, [1, 2], { tier: 'WARM', location: 'PRIVATE' });
    applier = statsApplier(database.db, { clock, logger });
    stats = new StatsRepository(database.db);
  });
  afterEach(async () => {
    await database.stop();
  });

  const msg = (e: Partial<BusEvent> & { ts: number }): BusMessage => ({
    topic: 't',
    partition: 0,
    offset: offset++,
    value: JSON.stringify({ v: 1, dataset_id: 1, type: 'read', bytes: 1, scan: false, received_at: e.ts, ...e }),
  });

  test('when batches arrive out of order, then the decayed sums equal the exact sum over all events', async () => {
    const times = [T0, T0 + 10 * 60_000, T0 + 2 * H, T0 + 2 * H + 1, T0 + 5 * H];
    await applier.apply([msg({ ts: times[4]! }), msg({ ts: times[2]! })]);
    await applier.apply([msg({ ts: times[0]! }), msg({ ts: times[1]! })]);
    await applier.apply([msg({ ts: times[3]! }), msg({ ts: T0 + 6 * H, scan: true })]);
    const s = (await stats.get(1))!;
    const exact = (hl: number) => times.reduce((sum, t) => sum + Math.pow(2, -(T0 + 5 * H - t) / hl), 0);
    expect(s.decay_at).toBe(T0 + 5 * H);
    expect(s.decay_1h).toBeCloseTo(exact(H), 9);
    expect(s.decay_1d).toBeCloseTo(exact(24 * H), 9);
    expect(s.decay_1w).toBeCloseTo(exact(168 * H), 9);
    expect(s).toMatchObject({ reads: 6, scans: 1, first_access: T0, last_access: T0 + 6 * H });
  });

  test('when the same offsets are delivered again, then nothing counts twice', async () => {
    const batch = [msg({ ts: T0 }), msg({ ts: T0 + 1 })];
    await applier.apply(batch);
    await applier.apply(batch);
    await applier.apply([batch[1]!, msg({ ts: T0 + 2 })]);
    expect((await stats.get(1))!.reads).toBe(3);
  });

  test('when minutes are rolled up, then hour and day buckets hold every event, late ones included', async () => {
    const m = (min: number, extra: Partial<BusEvent> = {}) => msg({ ts: T0 + min * 60_000, ...extra });
    await applier.apply([m(0), m(1), m(1, { dataset_id: 2 }), m(61)]);
    expect(await stats.buckets(1, 'h', T0, T0 + 2 * H)).toEqual([]);
    await stats.rollUp(T0 + 60 * 60_000);
    await applier.apply([m(2, { type: 'write', bytes: 9 }), m(62), m(125)]); // minute 2 is late: its hour was rolled
    await stats.rollUp(T0 + 2 * H);
    const hours = await stats.buckets(1, 'h', T0, T0 + 2 * H);
    expect(hours.map((b) => [b.bucket_start, b.reads, b.writes, b.bytes])).toEqual([
      [T0, 2, 1, 11],
      [T0 + H, 2, 0, 2],
    ]);
    const days = await stats.buckets(1, 'd', T0 - 10 * H, T0 + 20 * H);
    expect(days.map((b) => b.reads + b.writes)).toEqual([5]); // minute 125 is not rolled up yet
    expect((await stats.buckets(2, 'h', T0, T0 + H)).map((b) => b.reads)).toEqual([1]);
    // Minute buckets past their retention go, but only once rolled up.
    expect(await stats.pruneBuckets('m', T0 + 3 * H)).toBe(6);
    expect((await stats.buckets(1, 'm', T0, T0 + 3 * H)).map((b) => b.bucket_start)).toEqual([T0 + 125 * 60_000]);
  });
});

describe('a poison event', () => {
  test('when one event of a batch makes SQLite refuse the transaction, then it alone goes to the dead letters', async () => {
    const logger = createLogger('silent');
    const database = await openDatabase('sqlite', { logger });
    try {
      const db = database.db;
      await insertDatasets(db, [1], { tier: 'WARM', location: 'PRIVATE' });
      const { sql } = await import('kysely');
      await sql`create trigger poison before insert on event_ids when new.id = 'poison' begin select raise(abort, 'poisoned row'); end`.execute(
        db,
      );
      const applier = statsApplier(db, { clock: new ManualClock(T0), logger });
      const splits: { messages: number; reason: string }[] = [];
      applier.onSplit((s) => splits.push(s));
      const messages = Array.from({ length: 9 }, (_, i) => ({
        topic: 't',
        partition: 0,
        offset: i,
        value: JSON.stringify({
          v: 1,
          id: i === 6 ? 'poison' : `ok-${i}`,
          dataset_id: 1,
          type: 'read',
          bytes: 0,
          ts: T0,
          scan: false,
          received_at: T0,
        }),
      }));
      await applier.apply(messages);
      expect((await new StatsRepository(db).get(1))!.reads).toBe(8);
      // Reported once for the refused batch (its halves' refusals are the same search).
      expect(splits).toEqual([{ messages: 9, reason: expect.stringMatching(/poisoned row/) }]);
      const dead = await db.selectFrom('dead_letters').selectAll().execute();
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({
        offset: 6,
        reason: expect.stringMatching(/could not be applied: .*poisoned row/),
      });
      await applier.apply(messages); // a replay changes nothing
      expect((await new StatsRepository(db).get(1))!.reads).toBe(8);
      expect(await db.selectFrom('dead_letters').selectAll().execute()).toHaveLength(1);
    } finally {
      await database.stop();
    }
  });
});

describe('the exactly-once applier and its effect', () => {
  let database: Database;
  const logger = createLogger('silent');
  const value = (id: string, datasetId: number) =>
    JSON.stringify({ v: 1, id, dataset_id: datasetId, type: 'read', bytes: 1, ts: T0, scan: false, received_at: T0 });

  beforeEach(async () => {
    database = await openDatabase('sqlite', { logger });
  });
  afterEach(async () => {
    await database.stop();
  });

  const applierWith = (effect: BatchEffect) =>
    statsApplier(database.db, { clock: new ManualClock(T0), logger, effect });

  test('when the effect fails, then neither offsets nor event ids are stored and the batch applies later', async () => {
    let fail = true;
    const seen: number[] = [];
    const applier = applierWith(async (_trx, events) => {
      if (fail) throw new Error('disk on fire');
      seen.push(...events.map((e) => e.dataset_id));
      return [];
    });
    const batch = [0, 1].map((offset) => ({ topic: 't', partition: 0, offset, value: value(`e${offset}`, 1) }));
    await expect(applier.apply(batch)).rejects.toThrow('disk on fire');
    expect(await database.db.selectFrom('consumer_offsets').selectAll().execute()).toEqual([]);
    expect(await database.db.selectFrom('event_ids').selectAll().execute()).toEqual([]);
    fail = false;
    await applier.apply(batch);
    expect(seen).toEqual([1, 1]);
  });

  test('when the effect rejects an event, then it goes to the dead letters with the reason and its id stays free', async () => {
    const batches: AppliedBatch[] = [];
    const applier = applierWith(async (_trx, events) =>
      events.filter((e) => e.dataset_id === 9).map((event) => ({ event, reason: 'not today' })),
    );
    applier.onApplied((b) => batches.push(b));
    await applier.apply([
      { topic: 't', partition: 0, offset: 0, value: value('a', 1) },
      { topic: 't', partition: 0, offset: 1, value: value('b', 9) },
      { topic: 't', partition: 0, offset: 2, value: value('a', 1) },
    ]);
    expect(batches).toEqual([expect.objectContaining({ applied: 1, duplicates: 1, deadLettered: 1 })]);
    const dead = await database.db.selectFrom('dead_letters').selectAll().execute();
    expect(dead).toEqual([expect.objectContaining({ offset: 1, reason: 'not today' })]);
    const ids = await database.db.selectFrom('event_ids').select('id').execute();
    expect(ids.map((r) => r.id)).toEqual(['a']);
  });

  test('when the log jumps past offsets never applied, then the lost range is recorded once and reported', async () => {
    const batches: AppliedBatch[] = [];
    const applier = applierWith(async () => []);
    applier.onApplied((b) => batches.push(b));
    const at = (partition: number, offset: number) => ({
      topic: 't',
      partition,
      offset,
      value: value(`p${partition}-${offset}`, 1),
    });
    await applier.apply([at(0, 0), at(0, 1), at(1, 0)]);
    await applier.apply([at(0, 40), at(0, 41), at(1, 1), at(1, 3)]);
    await applier.apply([at(0, 40), at(0, 42)]); // a redelivery finds nothing new lost
    expect(batches.map((b) => b.gaps)).toEqual([
      [],
      [
        { topic: 't', partition: 0, from_offset: 2, to_offset: 40 },
        { topic: 't', partition: 1, from_offset: 2, to_offset: 3 },
      ],
      [],
    ]);
    const gaps = new GapsRepository(database.db);
    expect((await gaps.unacknowledged()).map((g) => [g.partition, g.from_offset, g.to_offset])).toEqual([
      [0, 2, 40],
      [1, 2, 3],
    ]);
    const first = (await gaps.unacknowledged())[0]!;
    expect(await gaps.acknowledge(first.id, 'user:admin', T0)).toBe(true);
    expect(await gaps.acknowledge(first.id, 'user:admin', T0)).toBe(false);
    expect(await gaps.countUnacknowledged()).toBe(1);
  });
});
