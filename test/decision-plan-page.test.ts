import { decodeExplanation } from '../src/tiering/explanation';
import { API_KEY } from './support/harness';
import { signIn, startWebApp, type Signed, type WebApp } from './support/web-harness';

const key = { 'x-api-key': API_KEY, 'content-type': 'application/json' };
/** An explanation as stored before plans were kept (format 1). */
const V1 = '[1,10737418240,40,30,0,0,0,0,0,0,0,0,0,0,0,0,0,40,60,0,0,null,0,0]';

describe('the dataset page shows the plan a decision priced; the Model page what the fleet taught', () => {
  let w: WebApp;
  let op: Signed;
  let id: number;

  beforeAll(async () => {
    w = await startWebApp();
    op = await signIn(w.base, w.admin.username, w.admin.password);
    const r = await fetch(`${w.base}/api/datasets`, {
      method: 'POST',
      headers: key,
      body: JSON.stringify({ name: 'plans', size_gb: 10, location: 'PRIVATE', tier: 'WARM' }),
    });
    id = ((await r.json()) as { id: number }).id;
  });
  afterAll(async () => {
    await w?.stop();
  });

  const page = async (url: string): Promise<string> => {
    const r = await fetch(w.base + url, { headers: { cookie: op.cookie } });
    expect(r.status).toBe(200);
    return r.text();
  };
  const unescape = (html: string): string => html.replace(/&#34;|&quot;/g, '"').replace(/&#39;/g, "'");

  test('when a decision is stored with its plans, then the page says the plan in words, as the API does', async () => {
    const t = w.app.tiering;
    const now = t.now();
    await t.repo.decisions.save([t.toRow(await t.decideNow(id), 1, now)]);
    const stored = (await t.decision(id))!;
    expect(decodeExplanation(stored.explanation).v).toBe(2);
    const api = (await (await fetch(`${w.base}/api/datasets/${id}/decision`)).json()) as {
      stored: boolean;
      plan: string;
      candidates: { placement: string; plan: { total: number; way_on: { to: string | null } } | null }[];
    };
    expect(api.stored).toBe(true);
    expect(api.plan).toMatch(
      /^[A-Z]+\/[A-Z]+ now, (stays|then [A-Z]+\/[A-Z]+ from day 31) \(\$[0-9.]+ over \d+ days\)$/,
    );
    const html = unescape(await page(`/datasets/${id}`));
    expect(html).toContain(`<p id="decision-plan">Priced as a plan: ${api.plan}.`);
    // Every allowed placement's way on is in the table.
    const ways = [...html.matchAll(/<td class="plan-way-on">([^<]*)<\/td>/g)].map((m) => m[1]);
    const allowed = api.candidates.filter((c) => c.plan !== null);
    expect(ways).toHaveLength(allowed.length);
    allowed.forEach((c, i) => expect(ways[i]).toMatch(c.plan!.way_on.to === null ? /^stays / : / from day 31 /));
  });

  test('when a decision was stored before plans were kept, then the page shows it as before, without a plan', async () => {
    await w.app.database.db.updateTable('decisions').set({ explanation: V1 }).where('dataset_id', '=', id).execute();
    const api = (await (await fetch(`${w.base}/api/datasets/${id}/decision`)).json()) as {
      stored: boolean;
      plan: string | null;
      candidates: { plan: unknown }[];
    };
    expect(api).toMatchObject({ stored: true, plan: null });
    expect(api.candidates.every((c) => c.plan === null)).toBe(true);
    const html = await page(`/datasets/${id}`);
    expect(html).toContain('id="decision-summary"');
    expect(html).toContain('Horizon total');
    expect(html).not.toContain('decision-plan');
    expect(html).not.toContain('Way on');
  });

  test('when the Model page opens, then it shows what the fleet taught, what each rests on and what it changes', async () => {
    const html = unescape(await page('/model'));
    expect(html).toContain('What the fleet taught the policy');
    for (const row of ['fleet-read-split', 'fleet-age-trend', 'fleet-return-curve'])
      expect(html).toContain(`<tr id="${row}">`);
    const api = (await (await fetch(`${w.base}/api/model`)).json()) as {
      learnt_from_fleet: Record<string, { what_it_changes: string }>;
    };
    for (const part of ['read_split', 'age_trend', 'return_curve'])
      expect(html).toContain(api.learnt_from_fleet[part]!.what_it_changes);
    // A fleet that has matured no forecast yet says so rather than showing ratios.
    expect(html).toContain('Nothing learnt yet');
    expect(html).toContain('0 matured forecasts');
  });
});
