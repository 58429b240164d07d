import { sql } from 'kysely';
import { StatsRepository, StatsWriter } from '../src/analytics';
import type { Database } from '../src/db';
import { ManualClock, createLogger } from '../src/platform';
import type { BusEvent, BusMessage } from '../src/stream';
import { snapshotOf } from '../src/tiering/candidate';
import { readWindows } from '../src/tiering/periodic';
import { ReadSplitEstimator } from '../src/tiering/read-split';
import { ScanRepository } from '../src/tiering/scan-repository';
import { SimStats } from '../src/tiering/sim/stats';
import { insertDatasets, openDatabase, statsApplier } from './support/database';
import { DATABASES } from './support/postgres';

const logger = createLogger('silent');
const H = 3_600_000;
const DAY = 24 * H;
const GB = 1024 ** 3;
const SIZE = 2 * GB;
const PHASES = [
  'phase_month_cos',
  'phase_month_sin',
  'phase_week_cos',
  'phase_week_sin',
  'phase_month2_cos',
  'phase_month2_sin',
  'phase_week2_cos',
  'phase_week2_sin',
] as const;

/** Five months of a month-end reader (three reads on each of the last two days), a mid-month read, a scan and a write. */
function events(datasetId: number): Omit<BusEvent, 'v' | 'received_at'>[] {
  const out: Omit<BusEvent, 'v' | 'received_at'>[] = [];
  for (let m = 0; m < 5; m++) {
    const last = Date.UTC(2026, m + 1, 0);
    for (let k = 0; k < 3; k++) {
      out.push({ dataset_id: datasetId, type: 'read', bytes: 1_000_000, ts: last - DAY + (10 + k) * H, scan: false });
      out.push({ dataset_id: datasetId, type: 'read', bytes: 1_000_000, ts: last + (9 + k) * H, scan: false });
    }
    out.push({ dataset_id: datasetId, type: 'read', bytes: 1_000_000, ts: Date.UTC(2026, m, 12, 14), scan: false });
    out.push({ dataset_id: datasetId, type: 'read', bytes: SIZE, ts: Date.UTC(2026, m, 20, 2), scan: true });
    out.push({ dataset_id: datasetId, type: 'write', bytes: 5_000, ts: Date.UTC(2026, m, 21, 2), scan: false });
  }
  return out.sort((a, b) => a.ts - b.ts);
}

describe.each(DATABASES)('read phases and the fleet read split, on %s', (kind) => {
  let database: Database;
  beforeEach(async () => {
    database = await openDatabase(kind, { logger });
  });
  afterEach(async () => {
    await database.stop();
  });

  test('when a month-end reader’s events arrive in batches, then dataset_stats holds the read phases the replay sums, and the scan reads them back', async () => {
    const id = 1;
    await insertDatasets(database.db, [id], { size_gb: 2, tier: 'HOT', location: 'PUBLIC', content_bytes: SIZE });
    const all = events(id);
    const messages: BusMessage[] = all.map((e, offset) => ({
      topic: 't',
      partition: 0,
      offset,
      value: JSON.stringify({ v: 1, received_at: e.ts, ...e }),
    }));
    const applier = statsApplier(database.db, { clock: new ManualClock(all[0]!.ts), logger });
    const stats = new StatsRepository(database.db);
    // The roll-up places the reads of the minutes it passes; the first three months are rolled up
    // before their events arrive (late events: the applier places those itself).
    const lateUntil = Date.UTC(2026, 3, 1);
    await stats.rollUp(lateUntil);
    for (let i = 0; i < messages.length; i += 4) await applier.apply(messages.slice(i, i + 4));
    const placedByApplier = Number((await stats.get(id))!.phase_reads);
    expect(placedByApplier).toBe(all.filter((e) => e.type === 'read' && !e.scan && e.ts < lateUntil).length);
    await stats.rollUp(all[all.length - 1]!.ts + DAY);
    await stats.rollUp(all[all.length - 1]!.ts + 2 * DAY); // a second pass places nothing again

    const row = (await stats.get(id))!;
    expect(Number(row.phase_reads)).toBe(35);
    const sim = new SimStats(1, Float64Array.of(SIZE), Float64Array.of(all[0]!.ts - DAY), all[0]!.ts);
    for (const e of all) sim.record(0, { ts: e.ts, dataset: 'd', type: e.type, bytes: e.bytes, scan: e.scan });
    const replay = sim.view.snapshot(0).phases!;
    const replayed = {
      phase_month_cos: replay.monthCos,
      phase_month_sin: replay.monthSin,
      phase_week_cos: replay.weekCos,
      phase_week_sin: replay.weekSin,
      phase_month2_cos: replay.month2Cos,
      phase_month2_sin: replay.month2Sin,
      phase_week2_cos: replay.week2Cos,
      phase_week2_sin: replay.week2Sin,
    };
    for (const c of PHASES) expect(Number(row[c])).toBeCloseTo(replayed[c], 9);

    // The scheduler's scan reads them back, and the policy finds the window from them.
    const [scanned] = await new ScanRepository(database.db).page(id - 1, 1, new Map());
    expect(scanned!.phase_reads).toBe(35);
    for (const c of PHASES) expect(scanned![c]).toBeCloseTo(replayed[c], 9);
    const now = Date.UTC(2026, 5, 20);
    const windows = readWindows(snapshotOf(scanned!), now, 30);
    expect(windows.map((w) => w.period)).toContain('month');
  });

  test('when late events arrive for minutes the roll-up has claimed but not yet rolled (a crash between its two steps), then the roll-up counts every event once', async () => {
    const { id, stats, T, read, apply } = await rolledUpTo(database);
    await apply([read(T + 60_000), read(T + 61_000), read(T + 120_000, true)]); // on time
    await stats.claimMinutes(T + H); // the roll-up's first step, then nothing (a crash)
    await apply([read(T + 62_000), read(T + 30 * 60_000)]); // late: minutes claimed, not rolled
    await stats.rollUp(T + 2 * H); // the next roll-up rolls what was claimed, and more

    const [hour] = await stats.buckets(id, 'h', T, T + H);
    expect(Number(hour!.reads)).toBe(5);
    expect(Number(hour!.scans)).toBe(1);
    const row = (await stats.get(id))!;
    expect(Number(row.reads)).toBe(5);
    expect(Number(row.phase_reads)).toBe(4); // the scan is not placed
    const sim = new SimStats(1, Float64Array.of(SIZE), Float64Array.of(T - DAY), T);
    for (const ts of [T + 60_000, T + 61_000, T + 62_000, T + 30 * 60_000])
      sim.record(0, { ts, dataset: 'd', type: 'read', bytes: 1_000, scan: false });
    expect(Number(row.phase_month_cos)).toBeCloseTo(sim.view.snapshot(0).phases!.monthCos, 9);
  });

  test('when the scan sums the fleet’s reads and writes, then it gives the totals the replay’s estimator gives', async () => {
    const split = [
      [40, 2, 5],
      [3, 0, 4],
      [0, 0, 0],
      [12, 12, 0],
      [900, 100, 45],
    ] as const;
    await insertDatasets(database.db, [1, 2, 3, 4, 5], { size_gb: 1, tier: 'HOT', location: 'PUBLIC' });
    const stats = new StatsRepository(database.db);
    const est = new ReadSplitEstimator();
    for (const [k, [reads, scans, writes]] of split.entries()) {
      await stats.addStats(database.db, [{ ...zeroRow(k + 1), reads, scans, writes }]);
      est.add(reads, scans, writes);
    }
    const totals = await new ScanRepository(database.db).readSplitTotals();
    expect(totals.reads).toBe(est.reads);
    expect(totals.accesses).toBe(est.accesses);
    expect(totals.datasets).toBe(est.datasets);
    expect(totals.readsSqPerAccess).toBeCloseTo(est.readsSqPerAccess, 9);
    expect(totals.accessesSq).toBeCloseTo(est.accessesSq, 9);
    expect(totals.splits).toBeCloseTo(est.splits, 9);
    expect(ReadSplitEstimator.prior(totals)).toEqual(est.value());
    // Three datasets with no access of their own (one scanned only) do not count.
    expect(totals.datasets).toBe(3);
  });
});

function zeroRow(datasetId: number): Parameters<StatsRepository['addStats']>[1][number] {
  return {
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
    large_reads: 0,
    large_bytes: 0,
    large_bursts: 0,
    large_first: null,
    large_last: null,
    large_gap_sq: 0,
  };
}

describe('the roll-up and a batch side by side, on PostgreSQL', () => {
  let database: Database;
  beforeEach(async () => {
    database = await openDatabase('postgres', { logger });
  });
  afterEach(async () => {
    await database.stop();
  });

  test('when the roll-up is rolling claimed minutes, then a batch of newer minutes goes through, and one with a late event waits for the roll and puts it in its minute too', async () => {
    const { id, stats, T, read, apply } = await rolledUpTo(database);
    await stats.claimMinutes(T + H);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    // What rollClaimed holds while it rolls: the rolled mark, moved to the claim, not yet committed.
    const rolling = database.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('bucket_rollup')
        .set({ rolled_until: T + H })
        .where('id', '=', 1)
        .execute();
      locked();
      await held;
    });
    await isLocked;
    await apply([read(T + H + 5 * 60_000)]); // a minute not claimed: no wait
    let lateDone = false;
    const late = apply([read(T + 10 * 60_000)]).then(() => (lateDone = true));
    await untilLockWait(database, () => lateDone);
    expect(lateDone).toBe(false); // it waits for the roll
    release();
    await Promise.all([rolling, late]);
    // Rolled by then: the late event is in its minute, hour and day, and placed in its periods.
    expect((await stats.buckets(id, 'm', T + 10 * 60_000, T + 11 * 60_000)).map((b) => Number(b.reads))).toEqual([1]);
    expect((await stats.buckets(id, 'h', T, T + H)).map((b) => Number(b.reads))).toEqual([1]);
    expect(Number((await stats.get(id))!.phase_reads)).toBe(1);
  });

  test('when a roll-up starts while a batch with a read of a minute it passes is not yet committed, then the read still reaches its hour bucket and its phases, once', async () => {
    const { id, stats, T } = await rolledUpTo(database);
    const ts = T + 90_000; // in the second minute after T, which the roll-up below passes
    const event: BusEvent = { v: 1, dataset_id: id, type: 'read', bytes: 1_000, ts, received_at: ts, scan: false };
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let written!: () => void;
    const wrote = new Promise<void>((r) => (written = r));
    // The batch's transaction reads rolled_until (T), writes the minute bucket, and stays open.
    const batch = database.db.transaction().execute(async (trx) => {
      await new StatsWriter({ stats }).write(trx, [event]);
      written();
      await held;
    });
    await wrote;
    let rolled = false;
    const rollUp = stats.rollUp(T + H).then(() => (rolled = true));
    // The roll-up waits for the batch (it holds the claim shared) or, unfixed, finishes first.
    await untilLockWait(database, () => rolled);
    release();
    await Promise.all([batch, rollUp]);

    const hour = await stats.buckets(id, 'h', T, T + H);
    expect(hour.map((b) => Number(b.reads))).toEqual([1]);
    expect(Number((await stats.get(id))!.phase_reads)).toBe(1);
  });
});

/** Returns once a session of this database waits for a lock, or once `done()` (it did not wait). */
async function untilLockWait(database: Database, done: () => boolean): Promise<void> {
  const waiting = async () =>
    Number(
      (
        await sql<{ n: number }>`select count(*) as n from pg_stat_activity
          where wait_event_type = 'Lock' and datname = current_database()`.execute(database.db)
      ).rows[0]!.n,
    );
  while (!done() && (await waiting()) === 0) await new Promise((r) => setImmediate(r));
}

/** One 2 GiB dataset, the roll-up at T (a round hour), and a batch writer as the applier runs it. */
async function rolledUpTo(database: Database) {
  const id = 1;
  await insertDatasets(database.db, [id], { size_gb: 2, tier: 'HOT', location: 'PUBLIC', content_bytes: SIZE });
  const stats = new StatsRepository(database.db);
  const writer = new StatsWriter({ stats });
  const T = Date.UTC(2026, 4, 5, 10);
  await stats.rollUp(T);
  const read = (ts: number, scan = false): BusEvent => ({
    v: 1,
    dataset_id: id,
    type: 'read',
    bytes: 1_000,
    ts,
    received_at: ts,
    scan,
  });
  const apply = (events: BusEvent[]) => database.db.transaction().execute((trx) => writer.write(trx, events));
  return { id, stats, T, read, apply };
}
