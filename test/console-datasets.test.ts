import { API_KEY } from './support/harness';
import { signIn, startWebApp, type Signed, type WebApp } from './support/web-harness';

const key = { 'x-api-key': API_KEY, 'content-type': 'application/json' };

describe('the datasets table: tag filter, cost, pending action, edit and delete', () => {
  let w: WebApp;
  let op: Signed;
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    w = await startWebApp();
    op = await signIn(w.base, w.admin.username, w.admin.password);
    const make = [
      { name: 'sales-eu', size_gb: 10, tags: ['prod', 'eu'] },
      { name: 'sales-us', size_gb: 20, tags: ['production'] },
      { name: 'scratch', size_gb: 1, tags: [] },
      { name: 'odd-tag', size_gb: 1, tags: ['50%_off'] },
    ];
    for (const d of make) {
      const r = await fetch(`${w.base}/api/datasets`, { method: 'POST', headers: key, body: JSON.stringify(d) });
      ids[d.name] = ((await r.json()) as { id: number }).id;
    }
  });
  afterAll(async () => {
    await w?.stop();
  });

  const names = async (url: string): Promise<string[]> => {
    const r = await fetch(w.base + url);
    expect(r.status).toBe(200);
    return ((await r.json()) as { name: string }[]).map((d) => d.name).sort();
  };
  const page = async (url: string): Promise<{ status: number; text: string }> => {
    const r = await fetch(w.base + url, { headers: { cookie: op.cookie } });
    return { status: r.status, text: await r.text() };
  };
  const post = (url: string, body: Record<string, string>) =>
    fetch(w.base + url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: w.base,
        cookie: op.cookie,
        'x-csrf-token': op.csrf,
      },
      body: new URLSearchParams(body).toString(),
    });

  test('when ?tag= is given, then only datasets carrying that whole tag are listed, by the API and the page', async () => {
    expect(await names('/api/datasets?tag=prod')).toEqual(['sales-eu']);
    expect(await names('/api/datasets?tag=production')).toEqual(['sales-us']);
    expect(await names('/api/datasets?tag=50%25_off')).toEqual(['odd-tag']);
    expect(await names('/api/datasets?tag=50')).toEqual([]);
    expect(await names('/api/datasets')).toHaveLength(4);
    const r = await fetch(`${w.base}/api/datasets?tag=prod`);
    expect(r.headers.get('x-total-count')).toBe('1');
    const p = await page('/datasets?tag=eu');
    expect(p.status).toBe(200);
    expect(p.text).toContain('sales-eu');
    expect(p.text).not.toContain('sales-us');
    expect(p.text).toMatch(/id="f-tag" name="tag" value="eu"/);
  });

  test('when ?tag= is malformed, then the answer is 400 naming tag', async () => {
    for (const bad of ['tag=a&tag=b', `tag=${'x'.repeat(65)}`, 'tag=%01bell', 'tag=%20%20']) {
      const r = await fetch(`${w.base}/api/datasets?${bad}`);
      expect(r.status).toBe(400);
      expect(JSON.stringify(await r.json())).toContain('tag');
      const p = await page(`/datasets?${bad}`);
      expect(p.status).toBe(400);
      expect(p.text).toContain('tag');
    }
  });

  test('when the table shows, then each row has its storage cost per month and its pending action', async () => {
    const p = await page('/datasets?tag=production');
    const cost = new RegExp(`data-testid="cost-${ids['sales-us']}">\\$([0-9.,]+)<`).exec(p.text);
    expect(Number(cost?.[1])).toBeGreaterThan(0);
    expect(p.text).toContain(`data-testid="pending-${ids['sales-us']}"><span class="muted">—</span>`);
  });

  test('when an operator edits a row, then name, tags and the pin change through the services', async () => {
    const id = ids.scratch!;
    const form = await page(`/datasets/${id}/edit`);
    expect(form.status).toBe(200);
    expect(form.text).toContain(`hx-post="/datasets/${id}/edit"`);
    expect(form.text).toContain('value="scratch"');
    const r = await post(`/datasets/${id}/edit`, { name: 'scratch-2', tags: 'tmp, tmp , lab', pinned: '1' });
    expect(r.status).toBe(200);
    expect(r.headers.get('hx-trigger')).toBe('datasets-changed');
    expect(await r.text()).toContain('Pinned at');
    const d = (await (await fetch(`${w.base}/api/datasets/${id}`)).json()) as { name: string; tags: string[] };
    expect(d).toMatchObject({ name: 'scratch-2', tags: ['tmp', 'lab'] });
    const policy = (await (await fetch(`${w.base}/api/datasets/${id}/policy`)).json()) as { mode: string };
    expect(policy.mode).toBe('pinned');
    expect(await names('/api/datasets?tag=lab')).toEqual(['scratch-2']);
    // Unchecked: unpinned.
    expect((await post(`/datasets/${id}/edit`, { name: 'scratch-2' })).status).toBe(200);
    expect(((await (await fetch(`${w.base}/api/datasets/${id}/policy`)).json()) as { mode: string }).mode).toBe('auto');
    // A taken name is refused, naming the field.
    const dup = await post(`/datasets/${id}/edit`, { name: 'sales-eu' });
    expect(dup.status).toBe(409);
  });

  test('when an operator deletes a row, then only the confirmed name is deleted', async () => {
    const id = ids['odd-tag']!;
    const wrong = await post(`/datasets/${id}/delete`, { confirm: 'something-else' });
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain('confirm');
    expect((await fetch(`${w.base}/api/datasets/${id}`)).status).toBe(200);
    const ok = await post(`/datasets/${id}/delete`, { confirm: 'odd-tag' });
    expect(ok.status).toBe(200);
    expect((await fetch(`${w.base}/api/datasets/${id}`)).status).toBe(404);
  });
});
