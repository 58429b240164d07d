import { StatsRepository } from '../src/analytics';
import type { Database } from '../src/db';
import { ManualClock, createLogger } from '../src/platform';
import type { BusEvent, BusMessage } from '../src/stream';
import { ScanRepository } from '../src/tiering/scan-repository';
import { SimStats } from '../src/tiering/sim/stats';
import { insertDatasets, openDatabase, statsApplier } from './support/database';
import { DATABASES } from './support/postgres';

const logger = createLogger('silent');
const H = 3_600_000;
const DAY = 24 * H;
const T0 = Date.UTC(2026, 2, 2, 3, 0, 0);
const GB = 1024 ** 3;
const SIZE = 2 * GB;

/**
 * Five weeks of a weekly job reading the whole dataset (twice within the hour on week 3),
 * between small reads, a scan of the whole size and a read of a bit over half of it.
 */
function events(datasetId: number): Omit<BusEvent, 'v' | 'received_at'>[] {
  const out: Omit<BusEvent, 'v' | 'received_at'>[] = [];
  for (let w = 0; w < 5; w++) {
    const t = T0 + w * 7 * DAY + (w % 2) * 60_000;
    out.push({ dataset_id: datasetId, type: 'read', bytes: SIZE, ts: t, scan: false });
    if (w === 3)
      out.push({
        dataset_id: datasetId,
        type: 'read',
        bytes: Math.round(0.6 * SIZE),
        ts: t + 40 * 60_000,
        scan: false,
      });
    out.push({ dataset_id: datasetId, type: 'read', bytes: 10_000_000, ts: t + 2 * DAY, scan: false });
    out.push({ dataset_id: datasetId, type: 'read', bytes: SIZE, ts: t + 3 * DAY, scan: true });
    out.push({ dataset_id: datasetId, type: 'write', bytes: SIZE, ts: t + 4 * DAY, scan: false });
  }
  return out;
}

describe.each(DATABASES)('large reads counted by the stream applier, on %s', (kind) => {
  let database: Database;
  beforeEach(async () => {
    database = await openDatabase(kind, { logger });
  });
  afterEach(async () => {
    await database.stop();
  });

  test('when a weekly job’s events arrive in batches, then dataset_stats holds the same large reads as the replay counts', async () => {
    const [id, other] = [1, 2];
    const weekly = { size_gb: 2, tier: 'HOT', location: 'PUBLIC', content_bytes: SIZE } as const;
    await insertDatasets(database.db, [id, other], weekly);
    const all = events(id);
    const messages: BusMessage[] = all.map((e, offset) => ({
      topic: 't',
      partition: 0,
      offset,
      value: JSON.stringify({ v: 1, received_at: e.ts, ...e }),
    }));
    const applier = statsApplier(database.db, { clock: new ManualClock(T0), logger });
    // Batches of three events: bursts and gaps are merged across batch boundaries.
    for (let i = 0; i < messages.length; i += 3) await applier.apply(messages.slice(i, i + 3));

    const row = await new StatsRepository(database.db).get(id);
    expect(row).toMatchObject({
      large_reads: 6,
      large_bytes: 5 * SIZE + Math.round(0.6 * SIZE),
      large_bursts: 5,
      large_first: T0,
      large_last: T0 + 4 * 7 * DAY,
    });

    // The replay's statistics, fed the same events one at a time.
    const sim = new SimStats(1, Float64Array.of(SIZE), Float64Array.of(T0 - DAY), T0);
    for (const e of all) sim.record(0, { ts: e.ts, dataset: 'weekly', type: e.type, bytes: e.bytes, scan: e.scan });
    const large = sim.view.snapshot(0).large!;
    expect(large).toMatchObject({
      reads: row!.large_reads,
      bytes: row!.large_bytes,
      bursts: row!.large_bursts,
      first: row!.large_first,
      last: row!.large_last,
    });
    expect(Number(row!.large_gap_sq)).toBeCloseTo(large.gapSq, 3);
    // Gaps of a week within the hour: regular, so the policy may time this reader.
    expect(Math.abs(Math.sqrt(large.gapSq / 4) - 7 * 24)).toBeLessThan(1);

    // The scheduler's scan reads them back (five bursts: enough to be timed).
    const [scanned] = await new ScanRepository(database.db).page(id - 1, 1, new Map());
    expect(scanned).toMatchObject({
      large_reads: 6,
      large_bursts: 5,
      large_first: row!.large_first,
      large_last: row!.large_last,
    });
    expect(scanned!.large_gap_sq).toBeCloseTo(large.gapSq, 3);

    // All in one batch: the gaps between its bursts (fractional hours) travel in the upsert's rows.
    await applier.apply(
      events(other).map((e, offset) => ({
        topic: 't',
        partition: 1,
        offset,
        value: JSON.stringify({ v: 1, received_at: e.ts, ...e }),
      })),
    );
    const stats = new StatsRepository(database.db);
    const whole = await stats.get(other);
    expect(whole).toMatchObject({ large_reads: 6, large_bursts: 5, large_first: T0, large_last: T0 + 4 * 7 * DAY });
    expect(Number(whole!.large_gap_sq)).toBeCloseTo(large.gapSq, 3);
    // Straight to the upsert (the applier would split a refused batch and hide a refusal): a
    // fractional sum of squared gaps is stored as it is on both engines.
    await stats.addStats(database.db, [
      { ...whole!, large_reads: 0, large_bytes: 0, large_bursts: 0, large_gap_sq: 1.5 },
    ]);
    expect(Number((await stats.get(other))!.large_gap_sq)).toBeCloseTo(large.gapSq + 1.5, 3);
  });
});
