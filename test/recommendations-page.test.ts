import { API_KEY } from './support/harness';
import { signIn, startWebApp, type Signed, type WebApp } from './support/web-harness';

const key = { 'x-api-key': API_KEY, 'content-type': 'application/json' };
const EXPLANATION = '[1,1,1,30,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,null,0,0]';

describe('the recommendations page', () => {
  let w: WebApp;
  let op: Signed;
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    w = await startWebApp();
    op = await signIn(w.base, w.admin.username, w.admin.password);
    const make: [string, string[], number, 'move' | 'held' | 'stay', string | null][] = [
      ['big-saver', ['prod'], 9, 'move', null],
      ['held-one', ['prod'], 5, 'held', 'hysteresis'],
      ['lab-a', ['lab'], 3, 'move', null],
      ['lab-b', ['lab'], 2, 'move', null],
      ['stays', ['prod'], 0, 'stay', 'never-tier'],
    ];
    const now = Date.now();
    for (const [name, tags, saving, action, rule] of make) {
      const r = await fetch(`${w.base}/api/datasets`, {
        method: 'POST',
        headers: key,
        body: JSON.stringify({ name, tags, size_gb: 10, location: 'PRIVATE', tier: 'WARM' }),
      });
      ids[name] = ((await r.json()) as { id: number }).id;
      await w.app.database.db
        .insertInto('decisions')
        .values({
          dataset_id: ids[name],
          run_id: 1,
          made_at: now,
          action,
          rule,
          from_location: 'PRIVATE',
          from_tier: 'WARM',
          to_location: action === 'stay' ? 'PRIVATE' : 'PUBLIC',
          to_tier: action === 'stay' ? 'WARM' : 'COLD',
          forecast_accesses: 0,
          cost_now_month: 10,
          cost_target_month: 10 - saving,
          saving_month: saving,
          move_cost: 1,
          break_even_days: saving > 0 ? 30 / saving : null,
          catalog_version: 1,
          explanation: EXPLANATION,
        })
        .execute();
    }
  });
  afterAll(async () => {
    await w?.stop();
  });

  const get = async (url: string) => {
    const r = await fetch(w.base + url, { headers: { cookie: op.cookie } });
    return { status: r.status, text: await r.text() };
  };
  const post = async (url: string, body: Record<string, string> = {}) => {
    const r = await fetch(w.base + url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: w.base,
        cookie: op.cookie,
        'x-csrf-token': op.csrf,
      },
      body: new URLSearchParams(body).toString(),
    });
    return { status: r.status, text: await r.text() };
  };
  const order = (html: string): number[] => [...html.matchAll(/data-dataset-id="(\d+)"/g)].map((m) => Number(m[1]));
  const policy = async (id: number) =>
    ((await (await fetch(`${w.base}/api/datasets/${id}/policy`)).json()) as { mode: string }).mode;
  const moving = async (id: number) =>
    ((await (await fetch(`${w.base}/api/migrations?dataset_id=${id}`)).json()) as unknown[]).length;

  test('when it opens, then moves and held moves are listed largest saving first, with break-even and the rule in words', async () => {
    const p = await get('/recommendations');
    expect(p.status).toBe(200);
    expect(order(p.text)).toEqual([ids['big-saver'], ids['held-one'], ids['lab-a'], ids['lab-b']]);
    expect(p.text).toContain('4 recommendations');
    expect(p.text).toContain('3.3 days'); // 30 / 9
    expect(p.text).toContain('the required margin (hysteresis)');
    expect(p.text).toContain('PUBLIC/COLD');
    const all = await get('/recommendations?action=all');
    expect(order(all.text)).toContain(ids.stays);
    expect(all.text).toContain('Never tiered.');
  });

  test('when filtered by tag, location or tier, then only matching rows show, and a bad tag is 400 naming tag', async () => {
    expect(order((await get('/recommendations?tag=lab')).text)).toEqual([ids['lab-a'], ids['lab-b']]);
    expect(order((await get('/recommendations?location=PUBLIC')).text)).toEqual([]);
    expect(order((await get('/recommendations?tier=WARM&action=held')).text)).toEqual([ids['held-one']]);
    const bad = await get('/recommendations?tag=a&tag=b');
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('tag');
    expect(order((await get('/recommendations?limit=2&page=2')).text)).toEqual([ids['lab-a'], ids['lab-b']]);
  });

  test('when an operator presses Pin, then the dataset is pinned where it is', async () => {
    const r = await post(`/recommendations/${ids['held-one']}/pin`);
    expect(r.status).toBe(200);
    expect(r.text).toContain('pinned at PRIVATE/WARM');
    expect(await policy(ids['held-one']!)).toBe('pinned');
  });

  test('when an operator presses Move, then the recommended move is queued', async () => {
    const r = await post(`/recommendations/${ids['big-saver']}/move`);
    expect(r.status).toBe(200);
    expect(r.text).toContain('to PUBLIC/COLD queued');
    expect(await moving(ids['big-saver']!)).toBe(1);
    const none = await post(`/recommendations/${ids.stays}/move`);
    expect(none.status).toBe(400);
  });

  test('when Move all runs over a tag, then every matching automatic dataset gets its move, and pinned ones are left alone', async () => {
    await fetch(`${w.base}/api/datasets/${ids['lab-b']}/policy`, {
      method: 'PUT',
      headers: key,
      body: JSON.stringify({ mode: 'never-tier' }),
    });
    const r = await post('/recommendations/bulk', { bulk: 'move', tag: 'lab', action: 'pending' });
    expect(r.status).toBe(200);
    expect(r.text).toContain('Queued 1 dataset.');
    expect(await moving(ids['lab-a']!)).toBe(1);
    expect(await moving(ids['lab-b']!)).toBe(0);
    expect((await post('/recommendations/bulk', { bulk: 'explode' })).status).toBe(400);
  });

  test('when Pin all runs, then the matching automatic datasets are pinned where they are', async () => {
    const r0 = await fetch(`${w.base}/api/datasets`, {
      method: 'POST',
      headers: key,
      body: JSON.stringify({ name: 'fresh', tags: ['late'], size_gb: 10, location: 'PRIVATE', tier: 'WARM' }),
    });
    const fresh = ((await r0.json()) as { id: number }).id;
    const row = await w.app.database.db
      .selectFrom('decisions')
      .selectAll()
      .where('dataset_id', '=', ids['lab-b']!)
      .executeTakeFirstOrThrow();
    await w.app.database.db
      .insertInto('decisions')
      .values({ ...row, dataset_id: fresh })
      .execute();
    // big-saver and lab-a moved (their decisions are stale now), held-one is pinned, lab-b never-tier: only fresh is left.
    const r = await post('/recommendations/bulk', { bulk: 'pin', action: 'pending' });
    expect(r.status).toBe(200);
    expect(r.text).toContain('Pinned 1 dataset.');
    expect(await policy(fresh)).toBe('pinned');
    expect(await policy(ids['lab-b']!)).toBe('never-tier');
  });
});
