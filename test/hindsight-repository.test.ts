import type { Database } from '../src/db';
import { HindsightRepository } from '../src/tiering/hindsight-repository';
import { insertDatasets, openDatabase } from './support/database';

const H = 3_600_000;
const DAY = 24 * H;
const T0 = Date.UTC(2026, 2, 1, 10, 0, 0);
/** A stored explanation (explanation.ts) with a 30-day horizon at index 3. */
const EXPLANATION = JSON.stringify([1, 1024 ** 3, 40, 30, ...Array.from({ length: 16 }, () => 0), 0, null, 0, 0]);

describe('what happened after each logged move, from SQLite', () => {
  let database: Database;
  let repo: HindsightRepository;

  beforeAll(async () => {
    database = await openDatabase();
    repo = new HindsightRepository(database.db);
    await insertDatasets(database.db, [1, 2], {
      location: 'PUBLIC',
      created_at: T0 - 60 * DAY,
      updated_at: T0 - 60 * DAY,
    });
    const move = (datasetId: number, madeAt: number) => ({
      dataset_id: datasetId,
      run_id: 1,
      made_at: madeAt,
      from_location: 'PUBLIC' as const,
      from_tier: 'HOT' as const,
      to_location: 'PUBLIC' as const,
      to_tier: 'COLD' as const,
      rule: null,
      saving_month: 1,
      catalog_version: 1,
      explanation: EXPLANATION,
    });
    // Dataset 1 moves at T0 and again 5 days later; dataset 2 once, at T0; a fourth decision's
    // move failed (dataset 2, day 3): it changed nothing, so it is neither judged nor a "next move".
    await database.db
      .insertInto('decision_log')
      .values([move(1, T0), move(2, T0), move(1, T0 + 5 * DAY), move(2, T0 + 3 * DAY)])
      .execute();
    const carried = (decisionId: number, datasetId: number, at: number, state: 'done' | 'failed') => ({
      dataset_id: datasetId,
      from_tier: 'HOT' as const,
      from_location: 'PUBLIC' as const,
      to_tier: 'COLD' as const,
      to_location: 'PUBLIC' as const,
      state,
      reason: 'policy',
      reason_detail: null,
      decision_id: decisionId,
      catalog_only: 1,
      object_id: null,
      bytes_total: 0,
      bytes_done: 0,
      error: state === 'failed' ? 'disk full' : null,
      created_at: at,
      started_at: at,
      switched_at: state === 'done' ? at : null,
      finished_at: at,
    });
    await database.db
      .insertInto('moves')
      .values([
        carried(1, 1, T0, 'done'),
        carried(2, 2, T0, 'done'),
        carried(3, 1, T0 + 5 * DAY, 'done'),
        carried(4, 2, T0 + 3 * DAY, 'failed'),
      ])
      .execute();
    const bucket = (
      datasetId: number,
      res: 'm' | 'h',
      start: number,
      reads: number,
      writes: number,
      bytes: number,
    ) => ({
      dataset_id: datasetId,
      res,
      bucket_start: start,
      reads,
      writes,
      scans: 0,
      bytes,
    });
    await database.db
      .insertInto('access_buckets')
      .values([
        bucket(1, 'h', T0 - H, 100, 0, 1_000), // before the move
        bucket(1, 'h', T0, 2, 2, 400), // in the window: 200 bytes read, 200 written
        bucket(1, 'h', T0 + 4 * DAY, 1, 0, 50), // in the window
        bucket(1, 'h', T0 + 6 * DAY, 7, 0, 70), // after the next move: the second move's
        bucket(2, 'h', T0 + 2 * DAY, 3, 0, 300), // hours rolled up
        bucket(2, 'm', T0 + 2 * DAY, 3, 0, 300), // the same minutes, already in the hour
        bucket(2, 'm', T0 + 8 * DAY, 5, 0, 500), // minutes not yet rolled up
        bucket(2, 'h', T0 + 31 * DAY, 9, 0, 900), // past the horizon
      ])
      .execute();
  });
  afterAll(async () => {
    await database?.stop();
  });

  test('when moves are read back, then each carries its next move and only the accesses inside its window, hours then minutes past the rollup', async () => {
    const rows = await repo.latest(10, T0 + 40 * DAY, T0 + 7 * DAY);
    expect(rows.map((r) => [r.dataset_id, r.made_at, r.next_at])).toEqual([
      [1, T0 + 5 * DAY, null],
      [2, T0, null],
      [1, T0, T0 + 5 * DAY],
    ]);
    const [second, two, first] = rows;
    expect(first).toMatchObject({ reads: 3, writes: 2, read_bytes: 250, write_bytes: 200 });
    expect(second).toMatchObject({ reads: 7, writes: 0, read_bytes: 70 });
    expect(two).toMatchObject({ reads: 8, writes: 0, read_bytes: 800 });
    expect(await repo.latest(1, T0 + 40 * DAY, T0 + 7 * DAY)).toHaveLength(1);
  });
});
