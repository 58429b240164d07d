import { App } from '../src/app';
import { Client } from '../src/cli';
import { parseConfig } from '../src/config';
import { createLogger } from '../src/platform';
import { API_KEY, tempDir } from './support/harness';
import { signIn, startWebApp, type WebApp } from './support/web-harness';

const key = { 'x-api-key': API_KEY, 'content-type': 'application/json' };

describe('a first hour as a new user has it', () => {
  let w: WebApp;
  beforeAll(async () => {
    w = await startWebApp();
  });
  afterAll(async () => {
    await w?.stop();
  });

  test('when the first password is lost, then the admin key resets it: the new one signs in, old sessions end, the old password no longer works', async () => {
    const before = await signIn(w.base, 'admin', w.admin.password);
    expect((await fetch(`${w.base}/`, { headers: { cookie: before.cookie } })).status).toBe(200);

    const anonymous = await fetch(`${w.base}/api/users/admin/password`, { method: 'POST' });
    expect(anonymous.status).toBe(401);
    const missing = await fetch(`${w.base}/api/users/nobody/password`, { method: 'POST', headers: key });
    expect(missing.status).toBe(404);
    const reset = await fetch(`${w.base}/api/users/admin/password`, { method: 'POST', headers: key });
    expect(reset.status).toBe(200);
    expect(reset.headers.get('cache-control')).toBe('no-store');
    const { password } = (await reset.json()) as { password: string };
    expect(password).not.toBe(w.admin.password);
    expect(w.logs.join('\n')).not.toContain(password);

    const stale = await fetch(`${w.base}/`, { headers: { cookie: before.cookie }, redirect: 'manual' });
    expect(stale.status).toBe(303);
    await expect(signIn(w.base, 'admin', w.admin.password)).rejects.toThrow(/login answered/);
    const after = await signIn(w.base, 'admin', password);
    expect((await fetch(`${w.base}/`, { headers: { cookie: after.cookie } })).status).toBe(200);
  });

  test('when a first start fails (its port is taken), then no password was shown, and the next start shows one that signs in', async () => {
    const dir = tempDir('dim-first-');
    const taken = await startWebApp({ DATA_DIR: tempDir('dim-other-') });
    const logs: string[] = [];
    const failing = new App(parseConfig({ DATA_DIR: dir, API_KEY, PORT: String(taken.app.port), HOST: '127.0.0.1' }), {
      logger: createLogger('info', {}, (l) => void logs.push(l)),
    });
    await expect(failing.start()).rejects.toThrow(/EADDRINUSE/);
    await failing.stop();
    await taken.stop();
    expect(logs.some((l) => l.includes('auth.first_user'))).toBe(false);
    const next = await startWebApp({ DATA_DIR: dir });
    try {
      expect((await signIn(next.base, 'admin', next.admin.password)).cookie).toMatch(/=/);
    } finally {
      await next.stop();
    }
  });

  test('when a scrub and a backup have run, then /readyz details and the overview say when and what they found', async () => {
    const before = (await (await fetch(`${w.base}/readyz`)).json()) as { details: Record<string, unknown> };
    expect(before.details).toMatchObject({
      backup: null,
      scrub: null,
      // No master key rotation running: only the current key is needed.
      master_key: { fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/), previous_key: 'not needed' },
    });
    // Which instance answered, and which holds the scheduler (issue 14): here, the only one.
    expect(before.details).toMatchObject({
      instance: expect.any(String),
      tier_scheduler_lease: { holder: before.details.instance, held_here: true },
    });
    expect((await fetch(`${w.base}/api/scrub?wait=true`, { method: 'POST', headers: key })).status).toBe(200);
    expect((await fetch(`${w.base}/api/backups`, { method: 'POST', headers: key, body: '{}' })).status).toBe(201);
    const ready = (await (await fetch(`${w.base}/readyz`)).json()) as {
      status: string;
      details: { backup: { ok: boolean; file: string }; scrub: { damaged: number; objects: number } };
    };
    expect(ready.status).toBe('ready');
    expect(ready.details.backup).toMatchObject({ ok: true, file: expect.any(String) });
    expect(ready.details.scrub).toMatchObject({ damaged: 0 });
    const s = await signIn(w.base, 'admin', (await resetAdmin(w)).password);
    const page = await (await fetch(`${w.base}/`, { headers: { cookie: s.cookie } })).text();
    expect(page).toMatch(/Scrub:\s+last finished [^<]*objects read and verified,\s+none damaged/);
    expect(page).toContain(ready.details.backup.file);
  });

  test('when the catalog is empty, then its hints address the server where the browser reached it', async () => {
    const s = await signIn(w.base, 'admin', (await resetAdmin(w)).password);
    const page = await (await fetch(`${w.base}/`, { headers: { cookie: s.cookie } })).text();
    expect(page).toContain(`curl -s -X POST ${w.base}/api/datasets`);
    expect(page).not.toContain('localhost:8000');
  });

  test('when an empty body would replace declared or stored content, then it is refused naming the body unless asked for', async () => {
    const created = await fetch(`${w.base}/api/datasets`, {
      method: 'POST',
      headers: key,
      body: JSON.stringify({ name: 'sales-2025', size_gb: 120 }),
    });
    const { id } = (await created.json()) as { id: number };
    const empty = await fetch(`${w.base}/api/datasets/${id}/content`, {
      method: 'PUT',
      headers: { 'x-api-key': API_KEY, 'content-type': 'application/octet-stream' },
      body: '',
    });
    expect(empty.status).toBe(400);
    expect(await empty.json()).toMatchObject({ field: 'body', detail: expect.stringMatching(/120 GB.*allow_empty/) });
    const kept = (await (await fetch(`${w.base}/api/datasets/${id}`)).json()) as { size_gb: number };
    expect(kept.size_gb).toBe(120);
    const meant = await fetch(`${w.base}/api/datasets/${id}/content?allow_empty=true`, {
      method: 'PUT',
      headers: { 'x-api-key': API_KEY, 'content-type': 'application/octet-stream' },
      body: '',
    });
    expect(meant.status).toBe(200);
  });

  test('when the CLI is given no --url, then it talks to BASE_URL, else this machine on PORT', () => {
    expect(Client.defaultUrl({})).toBe('http://localhost:8000');
    expect(Client.defaultUrl({ PORT: '9100' })).toBe('http://localhost:9100');
    expect(Client.defaultUrl({ PORT: '0' })).toBe('http://localhost:8000');
    expect(Client.defaultUrl({ PORT: '9100', BASE_URL: 'https://dim.example.com' })).toBe('https://dim.example.com');
  });
});

async function resetAdmin(w: WebApp): Promise<{ password: string }> {
  const r = await fetch(`${w.base}/api/users/admin/password`, { method: 'POST', headers: key });
  return (await r.json()) as { password: string };
}
