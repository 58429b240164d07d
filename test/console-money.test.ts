import { API_KEY } from './support/harness';
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
