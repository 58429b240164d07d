import { API_KEY, keySecret } from './support/harness';
import { signIn, startWebApp, type Signed, type WebApp } from './support/web-harness';

/** The API keys page (/keys): operators list, create and revoke keys; viewers may not. */
describe('the API keys page', () => {
  let w: WebApp;
  let operator: Signed;
  let viewer: Signed;

  beforeAll(async () => {
    w = await startWebApp({ PUBLIC_READ: 'false' });
    operator = await signIn(w.base, w.admin.username, w.admin.password);
    await w.app.users.create({ username: 'vic', role: 'viewer', password: 'viewer-password-123' });
    viewer = await signIn(w.base, 'vic', 'viewer-password-123');
  });
  afterAll(async () => {
    await w?.stop();
  });

  const page = (p: string, s?: Signed) =>
    fetch(w.base + p, { redirect: 'manual', headers: s ? { cookie: s.cookie } : {} });
  const form = (p: string, s: Signed, fields: [string, string][], headers: Record<string, string> = {}) =>
    fetch(w.base + p, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: w.base,
        cookie: s.cookie,
        'x-csrf-token': s.csrf,
        'hx-request': 'true',
        ...headers,
      },
      body: new URLSearchParams(fields).toString(),
    });
  const secretIn = (html: string) =>
    /<code id="new-key-secret"[^>]*>(dim_\d+_[A-Za-z0-9_-]{43})<\/code>/.exec(html)?.[1];

  test('when a viewer opens or posts to the keys page, then it is refused with 403 and the nav does not offer it', async () => {
    expect((await page('/keys', viewer)).status).toBe(403);
    expect((await page('/keys/parts/list', viewer)).status).toBe(403);
    const r = await form('/keys', viewer, [
      ['name', 'sneaky'],
      ['scopes', 'admin'],
    ]);
    expect(r.status).toBe(403);
    expect(await r.text()).toContain('it needs operator');
    const keys = (await (await fetch(`${w.base}/api/api-keys`, { headers: { 'x-api-key': API_KEY } })).json()) as {
      name: string;
    }[];
    expect(keys.map((k) => k.name)).not.toContain('sneaky');
    expect(await (await page('/', viewer)).text()).not.toContain('href="/keys"');
    expect(await (await page('/', operator)).text()).toContain('href="/keys"');
    // Without a session, to the login page.
    expect((await page('/keys')).headers.get('location')).toBe('/login?next=%2Fkeys');
  });

  test('when an operator creates a key, then its secret is shown once, it works at once, and the list never shows it again', async () => {
    const r = await form('/keys', operator, [
      ['name', 'grafana'],
      ['scopes', 'read'],
      ['scopes', 'events:write'],
    ]);
    expect(r.status).toBe(200);
    expect(r.headers.get('hx-trigger')).toBe('keys-changed');
    const html = await r.text();
    const key = secretIn(html);
    expect(key).toBeDefined();
    expect(html).toContain('shown this once');
    expect(html).toContain('read, events:write');
    const read = await fetch(`${w.base}/api/datasets`, { headers: { authorization: `Bearer ${key}` } });
    expect(read.status).toBe(200);
    const secret = keySecret(key!);
    const full = await (await page('/keys', operator)).text();
    expect(full).toContain('grafana');
    expect(full).not.toContain(secret);
    const list = await (await page('/keys/parts/list', operator)).text();
    expect(list).toMatch(
      /<tr data-key-id="\d+" data-state="live"><td>\d+<\/td><td>grafana<\/td><td>read, events:write<\/td>/,
    );
    expect(list).not.toContain(secret);
    // Used just now: the list says when (the 5th cell: last used since start).
    const row = /<tr data-key-id="\d+" data-state="live"><td>\d+<\/td><td>grafana<\/td>[\s\S]*?<\/tr>/.exec(list)![0];
    const cells = [...row.matchAll(/<td>([^<]*)<\/td>/g)].map((m) => m[1]!.trim());
    expect(cells).toHaveLength(6);
    expect(cells[4]).not.toBe('–');
    const unused = secretIn(
      await (
        await form('/keys', operator, [
          ['name', 'idle'],
          ['scopes', 'read'],
        ])
      ).text(),
    );
    expect(unused).toBeDefined();
    const idleRow = /<td>idle<\/td>[\s\S]*?<\/tr>/.exec(await (await page('/keys/parts/list', operator)).text())![0];
    expect([...idleRow.matchAll(/<td>([^<]*)<\/td>/g)].map((m) => m[1]!.trim())[3]).toBe('–');
  });

  test('when the form is incomplete or wrong, then the error is shown next to the field and no key is made', async () => {
    const before = (
      (await (await fetch(`${w.base}/api/api-keys`, { headers: { 'x-api-key': API_KEY } })).json()) as unknown[]
    ).length;
    const noScopes = await form('/keys', operator, [['name', 'half']]);
    expect(noScopes.status).toBe(400);
    const a = await noScopes.text();
    expect(a).toMatch(/<span id="k-scopes-error" class="error-text" role="alert">scopes: must be a non-empty array/);
    expect(a).toContain('value="half"');
    const noName = await form('/keys', operator, [
      ['name', '  '],
      ['scopes', 'read'],
    ]);
    expect(noName.status).toBe(400);
    const b = await noName.text();
    expect(b).toMatch(/<span id="k-name-error" class="error-text" role="alert">name: must be a non-empty string/);
    expect(b).toMatch(/value="read" checked/);
    const badScope = await form('/keys', operator, [
      ['name', 'x'],
      ['scopes', 'root'],
    ]);
    expect(badScope.status).toBe(400);
    expect(await badScope.text()).toContain('scopes[0]: must be one of read');
    const after = (
      (await (await fetch(`${w.base}/api/api-keys`, { headers: { 'x-api-key': API_KEY } })).json()) as unknown[]
    ).length;
    expect(after).toBe(before);
    // And without the CSRF token nothing is made either.
    const forged = await form(
      '/keys',
      operator,
      [
        ['name', 'csrf'],
        ['scopes', 'read'],
      ],
      { 'x-csrf-token': 'forged' },
    );
    expect(forged.status).toBe(403);
  });

  test('when an operator revokes a key, then it stops working at once, tokens made from it too, and the list says revoked', async () => {
    const key = secretIn(
      await (
        await form('/keys', operator, [
          ['name', 'short-lived'],
          ['scopes', 'read'],
        ])
      ).text(),
    )!;
    const id = Number(key.split('_')[1]);
    const token = (
      (await (await fetch(`${w.base}/api/tokens`, { method: 'POST', headers: { 'x-api-key': key } })).json()) as {
        token: string;
      }
    ).token;
    expect((await fetch(`${w.base}/api/datasets`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const r = await form(`/keys/${id}/revoke`, operator, []);
    expect(r.status).toBe(200);
    expect(await r.text()).toContain(`Key ${id} revoked`);
    expect((await fetch(`${w.base}/api/datasets`, { headers: { 'x-api-key': key } })).status).toBe(401);
    expect((await fetch(`${w.base}/api/datasets`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    const list = await (await page('/keys/parts/list', operator)).text();
    expect(list).toContain(`<tr data-key-id="${id}" data-state="revoked">`);
    expect((await form('/keys/999999/revoke', operator, [])).status).toBe(404);
    expect((await form('/keys/abc/revoke', operator, [])).status).toBe(400);
  });
});
