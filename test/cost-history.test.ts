import request from 'supertest';
import { ManualClock } from '../src/platform/clock';
import { placementIndex } from '../src/tiering';
import { API_KEY, startApp, tempDir, waitFor } from './support/harness';

const key = { 'x-api-key': API_KEY };
const DAY = 86_400_000;
const GB = 1024 ** 3;
const T0 = Date.UTC(2026, 3, 6, 9, 30, 0);

interface Point {
  day: string;
  datasets: number;
  bytes: number;
  cost_month: number;
  all_hot_month: number;
  saving_month: number;
  cold_share: number;
  placements: Record<string, { datasets: number; bytes: number; cost_month: number }>;
}

describe('the daily cost history', () => {
  const clock = new ManualClock(T0);
  const dir = tempDir();
  let s: Awaited<ReturnType<typeof startApp>>;

  afterAll(async () => {
    await s?.stop();
  });

  test('when snapshots are taken over several days, then /api/history gives one point per day with cost, saving against always-HOT and the cold share', async () => {
    s = await startApp({ DATA_DIR: dir, SCHEDULER_ENABLED: 'false' }, clock);
    const http = s.app.http;
    const price = (location: 'PRIVATE' | 'PUBLIC', tier: 'HOT' | 'WARM' | 'COLD', bytes: number): number =>
      s.app.tiering.catalog.cost.storage(placementIndex({ location, tier }), bytes, 30);
    const ids: number[] = [];
    for (const name of ['a', 'b']) {
      const body = { name, size_gb: 100, location: 'PRIVATE', tier: 'WARM' };
      ids.push((await request(http).post('/api/datasets').set(key).send(body).expect(201)).body.id);
    }
    // Day 0.
    await request(http).post('/api/history/snapshot').set(key).expect(200);
    // Day 1: one dataset went to PUBLIC/COLD.
    clock.set(T0 + DAY);
    await request(http)
      .post(`/api/datasets/${ids[0]}/moves`)
      .set(key)
      .send({ location: 'PUBLIC', tier: 'COLD' })
      .expect(202);
    await waitFor(
      async () => (await request(http).get(`/api/datasets/${ids[0]}`)).body.storage_type === 'PUBLIC',
      'the move to finish',
    );
    await request(http).post('/api/history/snapshot').set(key).expect(200);
    // Day 2: a third dataset; two snapshots that day, the later wins.
    clock.set(T0 + 2 * DAY);
    await request(http).post('/api/history/snapshot').set(key).expect(200);
    await request(http)
      .post('/api/datasets')
      .set(key)
      .send({ name: 'c', size_gb: 50, location: 'PRIVATE', tier: 'WARM' })
      .expect(201);
    await request(http).post('/api/history/snapshot').set(key).expect(200);
    // Day 3: nothing taken (the process was down, say). Day 4: the same state as day 2.
    clock.set(T0 + 4 * DAY);
    await request(http).post('/api/history/snapshot').set(key).expect(200);

    const h = (await request(http).get('/api/history?days=7').expect(200)).body as { days: number; series: Point[] };
    expect(h.days).toBe(7);
    expect(h.series.map((p) => p.day)).toEqual(['2026-04-06', '2026-04-07', '2026-04-08', '2026-04-10']);
    const [d0, d1, d2, d4] = h.series as [Point, Point, Point, Point];

    expect(d0).toMatchObject({ datasets: 2, bytes: 200 * GB, cold_share: 0 });
    expect(d0.cost_month).toBeCloseTo(price('PRIVATE', 'WARM', 200 * GB), 9);
    expect(d0.all_hot_month).toBeCloseTo(price('PRIVATE', 'HOT', 200 * GB), 9);
    expect(d0.saving_month).toBeCloseTo(d0.all_hot_month - d0.cost_month, 9);

    expect(d1).toMatchObject({ datasets: 2, bytes: 200 * GB, cold_share: 0.5 });
    expect(d1.placements['PUBLIC/COLD']).toMatchObject({ datasets: 1, bytes: 100 * GB });
    expect(d1.cost_month).toBeCloseTo(price('PRIVATE', 'WARM', 100 * GB) + price('PUBLIC', 'COLD', 100 * GB), 9);
    expect(d1.all_hot_month).toBeCloseTo(price('PRIVATE', 'HOT', 100 * GB) + price('PUBLIC', 'HOT', 100 * GB), 9);
    expect(d1.saving_month).toBeCloseTo(d1.all_hot_month - d1.cost_month, 9);

    expect(d2).toMatchObject({ datasets: 3, bytes: 250 * GB, cold_share: 100 / 250 });
    expect(d4).toMatchObject({ datasets: 3, bytes: 250 * GB, cold_share: 100 / 250 });
    expect(d4.cost_month).toBeCloseTo(d2.cost_month, 9);

    // A shorter window keeps the latest days only.
    const short = (await request(http).get('/api/history?days=2').expect(200)).body as { series: Point[] };
    expect(short.series.map((p) => p.day)).toEqual(['2026-04-10']);
    await request(http).get('/api/history?days=0').expect(400);
  });

  test('when the app starts on a day without a snapshot, then it takes one; with one, it takes none', async () => {
    await s.stop();
    clock.set(T0 + 5 * DAY);
    s = await startApp({ DATA_DIR: dir, SCHEDULER_ENABLED: 'false' }, clock);
    const series = async () =>
      ((await request(s.app.http).get('/api/history?days=30').expect(200)).body as { series: Point[] }).series;
    const after = await series();
    expect(after.map((p) => p.day).slice(-2)).toEqual(['2026-04-10', '2026-04-11']);
    expect(after[after.length - 1]).toMatchObject({ datasets: 3 });
    // Restarting the same day leaves the day's snapshot as it was.
    const takenAt = (
      await s.app.database.db
        .selectFrom('cost_history')
        .select('taken_at')
        .where('day', '=', Date.UTC(2026, 3, 11))
        .executeTakeFirstOrThrow()
    ).taken_at;
    await s.stop();
    clock.set(T0 + 5 * DAY + 3_600_000);
    s = await startApp({ DATA_DIR: dir, SCHEDULER_ENABLED: 'false' }, clock);
    const again = await s.app.database.db
      .selectFrom('cost_history')
      .select('taken_at')
      .where('day', '=', Date.UTC(2026, 3, 11))
      .executeTakeFirstOrThrow();
    expect(Number(again.taken_at)).toBe(Number(takenAt));
  });
});
