import fs from 'node:fs';
import path from 'node:path';
import { SignJWT } from 'jose';
import { API_KEY } from './support/harness';
import { signIn, startWebApp, type Signed, type WebApp } from './support/web-harness';

/** Sign-in, roles, CSRF and the session token's integrity, through real HTTP on a temporary database. */
describe('page sessions', () => {
  let w: WebApp;
  let operator: Signed;
  let viewer: Signed;
  let datasetId: number;

  beforeAll(async () => {
    w = await startWebApp();
    operator = await signIn(w.base, w.admin.username, w.admin.password);
    await w.app.users.create({ username: 'vera', role: 'viewer', password: 'viewer-password-123' });
    viewer = await signIn(w.base, 'vera', 'viewer-password-123');
    const r = await fetch(`${w.base}/api/datasets`, {
      method: 'POST',
      headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'auth-ds', size_gb: 1 }),
    });
    datasetId = ((await r.json()) as { id: number }).id;
  });
  afterAll(async () => {
    await w?.stop();
  });

  const post = (p: string, s: Signed | undefined, body: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(w.base + p, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: w.base,
        ...(s ? { cookie: s.cookie, 'x-csrf-token': s.csrf } : {}),
        ...headers,
      },
      body: new URLSearchParams(body).toString(),
    });
  const api = (method: string, p: string, s: Signed, body: unknown, headers: Record<string, string> = {}) =>
    fetch(w.base + p, {
      method,
      headers: {
        'content-type': 'application/json',
        origin: w.base,
        cookie: s.cookie,
        'x-csrf-token': s.csrf,
        ...headers,
      },
      body: JSON.stringify(body),
    });
  const page = (p: string, cookie?: string) =>
    fetch(w.base + p, { redirect: 'manual', headers: cookie ? { cookie } : {} });

  test('when the first start had no user, then admin was created as an operator and its password logged once', async () => {
    const lines = w.logs.filter((l) => l.includes('auth.first_user'));
    expect(lines).toHaveLength(1);
    expect(w.logs.filter((l) => l.includes(w.admin.password))).toHaveLength(1);
    expect(fs.statSync(path.join(w.dir, 'session.key')).mode & 0o777).toBe(0o600);
  });

  test('when nobody is signed in, then pages redirect to the login page and the login page says how to start', async () => {
    const r = await page('/datasets?tier=HOT');
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/login?next=%2Fdatasets%3Ftier%3DHOT');
    const login = await page('/login');
    expect(login.status).toBe(200);
    expect(await login.text()).toContain('auth.first_user');
  });

  test('when the password is wrong, then the login is refused with 401', async () => {
    const r = await post('/login', undefined, { username: 'admin', password: 'not-the-password' });
    expect(r.status).toBe(401);
    expect(r.headers.get('set-cookie')).toBeNull();
  });

  test('when a login form is posted from another site, then it is refused', async () => {
    const r = await post(
      '/login',
      undefined,
      { username: 'admin', password: w.admin.password },
      { origin: 'https://evil.example' },
    );
    expect(r.status).toBe(403);
  });

  test('when pages are served, then they carry a strict CSP and the other security headers, and the cookie is HttpOnly and SameSite=Strict', async () => {
    const r = await page('/', operator.cookie);
    expect(r.status).toBe(200);
    const csp = r.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('referrer-policy')).toBe('same-origin');
    const html = await r.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    const login = await post('/login', undefined, { username: 'admin', password: w.admin.password });
    expect(login.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict; Max-Age=\d+/);
  });

  test('when a viewer tries to pin or move, then the pages and the JSON API answer 403, and nothing changed', async () => {
    expect(
      (await post(`/datasets/${datasetId}/policy`, viewer, { mode: 'pinned', pin_location: 'ONPREM', pin_tier: 'HOT' }))
        .status,
    ).toBe(403);
    expect((await post(`/datasets/${datasetId}/moves`, viewer, { location: 'PUBLIC', tier: 'COLD' })).status).toBe(403);
    expect((await api('POST', `/api/datasets/${datasetId}/moves`, viewer, { tier: 'COLD' })).status).toBe(403);
    expect((await api('PUT', `/api/datasets/${datasetId}/policy`, viewer, { mode: 'never-tier' })).status).toBe(403);
    const policy = (await (await fetch(`${w.base}/api/datasets/${datasetId}/policy`)).json()) as { mode: string };
    expect(policy.mode).toBe('auto');
    expect(
      (await fetch(`${w.base}/api/migrations?dataset_id=${datasetId}`).then((r) => r.json())) as unknown[],
    ).toEqual([]);
    // A viewer still reads every page.
    expect((await page(`/datasets/${datasetId}`, viewer.cookie)).status).toBe(200);
    const model = await page('/model', viewer.cookie);
    expect(model.status).toBe(200);
    expect(await model.text()).toContain('Moves judged after the fact');
  });

  test('when an operator acts without the CSRF token or from another origin, then it is refused with 403', async () => {
    const noToken = await post(
      `/datasets/${datasetId}/policy`,
      undefined,
      { mode: 'never-tier' },
      { cookie: operator.cookie },
    );
    expect(noToken.status).toBe(403);
    expect(await noToken.text()).toContain('x-csrf-token: missing CSRF token');
    const wrong = await post(
      `/datasets/${datasetId}/policy`,
      operator,
      { mode: 'never-tier' },
      { 'x-csrf-token': 'forged' },
    );
    expect(wrong.status).toBe(403);
    const crossSite = await post(
      `/datasets/${datasetId}/policy`,
      operator,
      { mode: 'never-tier' },
      { origin: 'https://evil.example' },
    );
    expect(crossSite.status).toBe(403);
    const apiNoToken = await fetch(`${w.base}/api/datasets/${datasetId}/moves`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: w.base, cookie: operator.cookie },
      body: '{"tier":"HOT"}',
    });
    expect(apiNoToken.status).toBe(403);
    expect(((await apiNoToken.json()) as { detail: string }).detail).toContain('CSRF');
  });

  test('when an operator acts with the token, then the page and the JSON API go through, and bad input names the field', async () => {
    const ok = await post(`/datasets/${datasetId}/policy`, operator, { mode: 'never-tier', max_latency_ms: '' });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('Policy saved: never-tier');
    const bad = await post(`/datasets/${datasetId}/moves`, operator, { location: 'MOON', tier: 'HOT' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('location: must be one of ONPREM, PRIVATE, PUBLIC');
    const viaApi = await api('PUT', `/api/datasets/${datasetId}/policy`, operator, { mode: 'auto' });
    expect(viaApi.status).toBe(200);
    // The API key keeps working without any session.
    const withKey = await fetch(`${w.base}/api/datasets/${datasetId}/policy`, {
      method: 'PUT',
      headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
      body: '{"mode":"auto"}',
    });
    expect(withKey.status).toBe(200);
  });

  test('when the session token is expired, tampered with or unsigned (alg none), then pages redirect to the login and API writes get 401', async () => {
    const key = new Uint8Array(
      Buffer.from(fs.readFileSync(path.join(w.dir, 'session.key'), 'utf8').trim(), 'base64url'),
    );
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ csrf: 'x' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('1')
      .setJti('expired-1')
      .setIssuer('data-in-motion')
      .setAudience('data-in-motion/pages')
      .setIssuedAt(now - 7200)
      .setExpirationTime(now - 3600)
      .sign(key);
    const [h, p, sig] = operator.cookie.slice('dim_session='.length).split('.') as [string, string, string];
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: '2' })).toString('base64url')}.${sig}`;
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${p}.`;
    for (const token of [expired, tampered, none, 'garbage']) {
      const r = await page('/', `dim_session=${token}`);
      expect(r.status).toBe(303);
      expect(r.headers.get('location')).toBe('/login?next=%2F');
      expect(r.headers.get('set-cookie')).toContain('Max-Age=0');
      const write = await fetch(`${w.base}/api/datasets/${datasetId}/moves`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          origin: w.base,
          cookie: `dim_session=${token}`,
          'x-csrf-token': 'x',
        },
        body: '{"tier":"HOT"}',
      });
      expect(write.status).toBe(401);
    }
    // An HTMX poll is told where to go instead of getting the login page as a fragment.
    const poll = await fetch(`${w.base}/parts/overview/summary`, {
      headers: { cookie: `dim_session=${none}`, 'hx-request': 'true' },
    });
    expect(poll.status).toBe(401);
    expect(poll.headers.get('hx-redirect')).toBe('/login');
  });

  test('when a user signs out, then the cookie is cleared and the old token no longer works', async () => {
    const s = await signIn(w.base, w.admin.username, w.admin.password);
    expect((await page('/', s.cookie)).status).toBe(200);
    const out = await post('/logout', undefined, { _csrf: s.csrf }, { cookie: s.cookie });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/login');
    expect(out.headers.get('set-cookie')).toMatch(/^dim_session=; .*Max-Age=0/);
    const again = await page('/', s.cookie);
    expect(again.status).toBe(303);
    expect(again.headers.get('location')).toContain('/login');
  });
});
