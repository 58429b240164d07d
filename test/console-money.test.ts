import { API_KEY, DATABASES, databaseEnvFor, tempDir } from './support/harness';
import { signIn, startWebApp, type Signed, type WebApp } from './support/web-harness';

const key = { 'x-api-key': API_KEY, 'content-type': 'application/json' };

/** The overview's "Saving" as the page prints it. */
function savingOnPage(html: string): string {
  const m = /<dd id="cost-saving">([^<]+)\/month/.exec(html);
  if (!m) throw new Error('no saving on the overview');
  return m[1]!;
}

function money(n: number): string {
  const abs = Math.abs(n);
  const digits = abs >= 1 || abs === 0 ? 2 : 4;
  return `${n < 0 ? '−' : ''}$${abs.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })}`;
}

describe('money that adds up: the overview, the scheduler and the recommendations give one saving', () => {
  let w: WebApp;
  let signed: Signed;
  const ids: number[] = [];

  beforeAll(async () => {
    // No move is ever queued by a run here: every recommendation the scheduler makes is held.
    w = await startWebApp({ SCHEDULER_BUDGET_MOVES: '0', POLICY_HORIZON_DAYS: '30' });
    signed = await signIn(w.base, w.admin.username, w.admin.password);
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`${w.base}/api/datasets`, {
        method: 'POST',
        headers: key,
        body: JSON.stringify({ name: `money-${i}`, size_gb: 100 }),
      });
      ids.push(((await r.json()) as { id: number }).id);
    }
    // Stored recommendations held back (as a run over a budget leaves them), with a saving each:
    // the old overview summed these and showed a saving while nothing was queued.
    const now = Date.now();
    await w.app.database.db
      .insertInto('decisions')
      .values(
        ids.map((id) => ({
          dataset_id: id,
          run_id: 1,
          made_at: now,
          action: 'held' as const,
          rule: 'budget',
          from_location: 'PRIVATE' as const,
          from_tier: 'WARM' as const,
          to_location: 'PUBLIC' as const,
          to_tier: 'COLD' as const,
          forecast_accesses: 0,
          cost_now_month: 20,
          cost_target_month: 5,
          saving_month: 15,
          move_cost: 3,
          break_even_days: 6,
          catalog_version: 1,
          explanation: '[1,1,1,30,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,null,0,0]',
        })),
      )
      .execute();
  });
  afterAll(async () => {
    await w?.stop();
  });

  async function figures(): Promise<{ page: string; api: number; header: number; run: number }> {
    const page = await (await fetch(`${w.base}/parts/overview/summary`, { headers: { cookie: signed.cookie } })).text();
    const api = (await (await fetch(`${w.base}/api/recommendations/summary`)).json()) as {
      pending_saving_month_usd: number;
    };
    const list = await fetch(`${w.base}/api/recommendations?limit=1`);
    const run = (await (await fetch(`${w.base}/api/scheduler/run`, { method: 'POST', headers: key })).json()) as {
      run: { pending_saving_month: number; moves: unknown[] };
    };
    expect(run.run.moves).toHaveLength(0);
    return {
      page: savingOnPage(page),
      api: api.pending_saving_month_usd,
      header: Number(list.headers.get('x-pending-saving-month')),
      run: run.run.pending_saving_month,
    };
  }

  test('when no move is queued, then the saving is $0 everywhere, though held recommendations promise one', async () => {
    const held = (await (await fetch(`${w.base}/api/recommendations`)).json()) as {
      action: string;
      estimated_monthly_saving_usd: number;
    }[];
    expect(held.some((r) => r.action === 'held' && r.estimated_monthly_saving_usd > 0)).toBe(true);
    const f = await figures();
    expect(f).toEqual({ page: '$0.00', api: 0, header: 0, run: 0 });
    // The run records the figure it reported.
    const runs = (await (await fetch(`${w.base}/api/scheduler`)).json()) as {
      runs: { pending_saving_month: number | null }[];
    };
    expect(runs.runs[0]?.pending_saving_month).toBe(0);
  });

  test('when moves queued by decisions are under way, then the page, the API and the run all give their saving net of the moves cost', async () => {
    const db = w.app.database.db;
    const now = Date.now();
    // Two moves under way (copying and verifying: no worker picks these up), each from a logged
    // decision; a third, manual, has no decision and saves nothing that anyone predicted.
    const logged = [
      { saving: 12.5, cost: 6 },
      { saving: 4.25, cost: 1.5 },
    ];
    for (const [i, l] of logged.entries()) {
      const dl = await db
        .insertInto('decision_log')
        .values({
          dataset_id: ids[i]!,
          run_id: 1,
          made_at: now,
          from_location: 'PRIVATE',
          from_tier: 'WARM',
          to_location: 'PUBLIC',
          to_tier: 'COLD',
          rule: null,
          saving_month: l.saving,
          move_cost: l.cost,
          catalog_version: 1,
          explanation: '[1,1,1,30,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,null,0,0]',
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await db
        .insertInto('moves')
        .values({
          dataset_id: ids[i]!,
          from_tier: 'WARM',
          from_location: 'PRIVATE',
          to_tier: 'COLD',
          to_location: 'PUBLIC',
          state: i === 0 ? 'copying' : 'verifying',
          reason: 'policy',
          decision_id: dl.id,
          catalog_only: 1,
          bytes_total: 0,
          bytes_done: 0,
          created_at: now,
          started_at: now,
        })
        .execute();
    }
    await db
      .insertInto('moves')
      .values({
        dataset_id: ids[2]!,
        from_tier: 'WARM',
        from_location: 'PRIVATE',
        to_tier: 'HOT',
        to_location: 'PRIVATE',
        state: 'copying',
        reason: 'manual',
        catalog_only: 1,
        bytes_total: 0,
        bytes_done: 0,
        created_at: now,
        started_at: now,
      })
      .execute();
    // Horizon 30 days: each move's cost comes off one month's saving.
    const expected = 12.5 - 6 + (4.25 - 1.5);
    const f = await figures();
    expect(f.api).toBeCloseTo(expected, 9);
    expect(f.header).toBeCloseTo(expected, 9);
    expect(f.run).toBeCloseTo(expected, 9);
    expect(f.page).toBe(money(expected));
    const page = await (await fetch(`${w.base}/parts/overview/summary`, { headers: { cookie: signed.cookie } })).text();
    expect(page).toMatch(/2 moves under way/);
  });
});

describe.each(DATABASES)('moves queued by hand count in the one saving, on %s', (database) => {
  let w: WebApp;
  let signed: Signed;
  const ids: Record<string, number> = {};

  const api = async <T>(url: string, init: RequestInit = {}): Promise<{ status: number; body: T }> => {
    const r = await fetch(w.base + url, { ...init, headers: { ...key, ...(init.headers ?? {}) } });
    return { status: r.status, body: (await r.json()) as T };
  };
  const post = (url: string, body: Record<string, string> = {}) =>
    fetch(w.base + url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: w.base,
        cookie: signed.cookie,
        'x-csrf-token': signed.csrf,
      },
      body: new URLSearchParams(body).toString(),
    });
  const recommend = (id: number, action: 'move' | 'held', saving: number, moveCost: number) =>
    w.app.database.db
      .insertInto('decisions')
      .values({
        dataset_id: id,
        run_id: 1,
        made_at: Date.now(),
        action,
        rule: action === 'held' ? 'hysteresis' : null,
        from_location: 'PRIVATE',
        from_tier: 'WARM',
        to_location: 'PUBLIC',
        to_tier: 'COLD',
        forecast_accesses: 0,
        cost_now_month: 20,
        cost_target_month: 20 - saving,
        saving_month: saving,
        move_cost: moveCost,
        break_even_days: 1,
        catalog_version: 1,
        explanation: '[1,1,1,30,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,null,0,0]',
      })
      .execute();

  beforeAll(async () => {
    // One copy at a time, and the first one slow: every move queued here is still pending when counted.
    const dir = tempDir('dim-money-');
    w = await startWebApp({
      DATA_DIR: dir,
      ...(await databaseEnvFor(dir, database)),
      MOVE_BANDWIDTH: '4kb',
      MOVE_CONCURRENCY: '1',
      POLICY_HORIZON_DAYS: '30',
    });
    signed = await signIn(w.base, w.admin.username, w.admin.password);
    for (const [name, tags] of [
      ['blocker', []],
      ['by-api', []],
      ['bulk-a', ['bulk']],
      ['bulk-b', ['bulk']],
      ['elsewhere', []],
    ] as const) {
      const r = await api<{ id: number }>('/api/datasets', {
        method: 'POST',
        body: JSON.stringify({ name, tags, size_gb: 100, location: 'PRIVATE', tier: 'WARM' }),
      });
      ids[name] = r.body.id;
    }
    const put = await fetch(`${w.base}/api/datasets/${ids.blocker}/content`, {
      method: 'PUT',
      headers: { 'x-api-key': API_KEY, 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(512 * 1024, 7),
    });
    expect(put.status).toBeLessThan(300);
    await recommend(ids.blocker!, 'move', 9, 1);
    await recommend(ids['by-api']!, 'held', 5, 2);
    await recommend(ids['bulk-a']!, 'move', 3, 1);
    await recommend(ids['bulk-b']!, 'move', 2, 0.5);
    await recommend(ids.elsewhere!, 'move', 4, 1);
  });
  afterAll(async () => {
    await w?.stop();
  });

  async function figures(): Promise<{
    page: string;
    api: {
      pending_moves: number;
      pending_saving_month_usd: number;
      off_recommendation: { moves: number; saving_month_usd: number };
    };
    header: number;
  }> {
    const page = await (await fetch(`${w.base}/parts/overview/summary`, { headers: { cookie: signed.cookie } })).text();
    const summary = await api<Awaited<ReturnType<typeof figures>>['api']>('/api/recommendations/summary');
    const list = await fetch(`${w.base}/api/recommendations?limit=1`);
    return { page, api: summary.body, header: Number(list.headers.get('x-pending-saving-month')) };
  }

  test('when moves are queued from the page, the bulk action and the API to the recommendation, then each counts its recommendation net of its cost', async () => {
    expect((await post(`/recommendations/${ids.blocker}/move`)).status).toBe(200);
    const byApi = await api<{ decision_id: number | null; state: string }>(`/api/datasets/${ids['by-api']}/moves`, {
      method: 'POST',
      body: JSON.stringify({ location: 'PUBLIC', tier: 'COLD' }),
    });
    expect(byApi.status).toBe(202);
    expect(byApi.body.decision_id).not.toBeNull();
    expect((await post('/recommendations/bulk', { bulk: 'move', tag: 'bulk', action: 'pending' })).status).toBe(200);
    // Horizon 30 days: each move's cost comes off one month of its recommendation's saving.
    const expected = 9 - 1 + (5 - 2) + (3 - 1) + (2 - 0.5);
    const f = await figures();
    expect(f.api.pending_moves).toBe(4);
    expect(f.api.pending_saving_month_usd).toBeCloseTo(expected, 9);
    expect(f.header).toBeCloseTo(expected, 9);
    expect(savingOnPage(f.page)).toBe(money(expected));
    expect(f.api.off_recommendation).toEqual({ moves: 0, saving_month_usd: 0 });
    // Each move carries the decision it carries out, as the page showed it.
    const logged = await api<{ saving_per_month: number; to: { location: string; tier: string } }>(
      `/api/decisions/${byApi.body.decision_id}`,
    );
    expect(logged.body.saving_per_month).toBe(5);
    expect(logged.body.to).toEqual({ location: 'PUBLIC', tier: 'COLD' });
  });

  test('when a move goes elsewhere than recommended, then it counts at its own price by the cost model (a loss here) and the page says so', async () => {
    const before = (await figures()).api.pending_saving_month_usd;
    const fresh = await api<{
      candidates: { placement: string; per_month: { total: number }; move: { total: number } }[];
    }>(`/api/datasets/${ids.elsewhere}/decision?fresh=true`);
    const here = fresh.body.candidates.find((c) => c.placement === 'PRIVATE/WARM')!;
    const there = fresh.body.candidates.find((c) => c.placement === 'PRIVATE/HOT')!;
    const m = await api<{ decision_id: number | null }>(`/api/datasets/${ids.elsewhere}/moves`, {
      method: 'POST',
      body: JSON.stringify({ location: 'PRIVATE', tier: 'HOT' }),
    });
    expect(m.status).toBe(202);
    const own = await w.app.database.db
      .selectFrom('decision_log')
      .select(['saving_month', 'move_cost', 'rule', 'to_tier'])
      .where('id', '=', m.body.decision_id!)
      .executeTakeFirstOrThrow();
    expect(own).toMatchObject({ rule: 'manual', to_tier: 'HOT' });
    const explained = await api<{ summary: string; to: { tier: string } }>(`/api/decisions/${m.body.decision_id}`);
    expect(explained.body.to.tier).toBe('HOT');
    expect(explained.body.summary).toContain('Queued by hand to a placement other than the recommendation');
    // The same cost model as the decision's candidates (rounded there to 1/10,000 of a dollar).
    expect(own.saving_month).toBeCloseTo(here.per_month.total - there.per_month.total, 3);
    expect(own.move_cost).toBeCloseTo(there.move.total, 3);
    const net = own.saving_month - own.move_cost;
    expect(net).toBeLessThan(0);
    const f = await figures();
    expect(f.api.pending_moves).toBe(5);
    expect(f.api.pending_saving_month_usd).toBeCloseTo(before + net, 9);
    expect(f.header).toBeCloseTo(before + net, 9);
    expect(f.api.off_recommendation.moves).toBe(1);
    expect(f.api.off_recommendation.saving_month_usd).toBeCloseTo(net, 9);
    expect(savingOnPage(f.page)).toBe(money(before + net));
    expect(f.page).toContain(`1 sent elsewhere than recommended, ${money(net)}/month of it`);
  });

  test('when a queued move is cancelled, then its saving leaves the figure', async () => {
    const before = await figures();
    const list = await api<{ id: number; state: string }[]>(`/api/migrations?dataset_id=${ids['bulk-b']}`);
    const cancelled = await api<{ state: string }>(`/api/migrations/${list.body[0]!.id}`, { method: 'DELETE' });
    expect(cancelled.body.state).toBe('cancelled');
    const after = await figures();
    expect(after.api.pending_moves).toBe(before.api.pending_moves - 1);
    expect(after.api.pending_saving_month_usd).toBeCloseTo(before.api.pending_saving_month_usd - 1.5, 9);
  });
});
