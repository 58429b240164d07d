import { App } from '../src/app';
import { parseConfig, type LogLevel } from '../src/config';
import { createLogger } from '../src/platform/logger';
import { API_KEY, keySecret, tempDir } from './support/harness';
import { signIn } from './support/web-harness';

type Line = Record<string, unknown>;

/** The app listening on 127.0.0.1 with every log line kept, at the given levels. */
async function start(
  env: Record<string, string>,
  level: LogLevel,
): Promise<{ app: App; base: string; logs: string[]; lines(): Line[]; admin: { username: string; password: string } }> {
  const logs: string[] = [];
  const config = parseConfig({
    DATA_DIR: tempDir('dim-log-'),
    API_KEY,
    LOG_LEVEL: level,
    PORT: '0',
    HOST: '127.0.0.1',
    SCHEDULER_ENABLED: 'false',
    ...env,
  });
  const app = new App(config, { logger: createLogger(level, {}, (l) => void logs.push(l)) });
  await app.start({ listen: true });
  const lines = () => logs.map((l) => JSON.parse(l) as Line);
  const first = lines().find((l) => l.event === 'auth.first_user')!;
  return {
    app,
    base: `http://127.0.0.1:${app.port}`,
    logs,
    lines,
    admin: { username: String(first.username), password: String(first.password) },
  };
}

describe('log lines and request ids', () => {
  test('when a key is created, then auth.api_key_created carries the request id echoed in X-Request-Id, and no secret', async () => {
    const s = await start({}, 'info');
    try {
      const r = await fetch(`${s.base}/api/api-keys`, {
        method: 'POST',
        headers: { 'x-api-key': API_KEY, 'content-type': 'application/json', 'x-request-id': 'trace-abc.123' },
        body: JSON.stringify({ name: 'ci', scopes: ['read'] }),
      });
      expect(r.status).toBe(201);
      expect(r.headers.get('x-request-id')).toBe('trace-abc.123');
      const key = ((await r.json()) as { key: string }).key;
      const created = s.lines().filter((l) => l.event === 'auth.api_key_created');
      expect(created).toHaveLength(1);
      expect(created[0]).toMatchObject({
        request_id: 'trace-abc.123',
        name: 'ci',
        scopes: ['read'],
        by: 'key:bootstrap',
        part: 'auth',
      });
      expect(s.logs.join('')).not.toContain(keySecret(key));
      // A made-up id when the caller sends none (or a bad one), still the same on the line and in the header.
      const bad = await fetch(`${s.base}/api/api-keys/${key.split('_')[1]}`, {
        method: 'DELETE',
        headers: { 'x-api-key': API_KEY, 'x-request-id': 'no spaces allowed' },
      });
      expect(bad.status).toBe(200);
      const id = bad.headers.get('x-request-id')!;
      expect(id).toMatch(/^[0-9a-f]{16}$/);
      expect(s.lines().find((l) => l.event === 'auth.api_key_revoked')).toMatchObject({
        request_id: id,
        by: 'key:bootstrap',
      });
      // A page sign-in logs with its request id too.
      const login = await fetch(`${s.base}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: s.base, 'x-request-id': 'login-1' },
        body: new URLSearchParams({ username: s.admin.username, password: s.admin.password }).toString(),
      });
      expect(login.status).toBe(303);
      expect(s.lines().find((l) => l.event === 'auth.login')).toMatchObject({
        request_id: 'login-1',
        username: s.admin.username,
      });
      // At LOG_LEVEL=info the access log (debug by default) writes nothing.
      expect(s.lines().filter((l) => l.event === 'http.request')).toEqual([]);
    } finally {
      await s.app.stop();
    }
  });

  test('when ACCESS_LOG=info, then every answered request has one http.request line with method, route, status, duration and its request id', async () => {
    const s = await start({ ACCESS_LOG: 'info' }, 'info');
    try {
      const a = await fetch(`${s.base}/api/datasets/12345`, { headers: { 'x-request-id': 'acc-1' } });
      expect(a.status).toBe(404);
      const b = await fetch(`${s.base}/api/datasets`, {
        method: 'POST',
        headers: { 'x-api-key': API_KEY, 'content-type': 'application/json', 'x-request-id': 'acc-2' },
        body: '{"name":"logged"}',
      });
      expect(b.status).toBe(201);
      const access = s.lines().filter((l) => l.event === 'http.request');
      expect(access.find((l) => l.request_id === 'acc-1')).toMatchObject({
        level: 'info',
        method: 'GET',
        route: '/api/datasets/:id',
        status: 404,
        duration_ms: expect.any(Number),
      });
      expect(access.find((l) => l.request_id === 'acc-2')).toMatchObject({
        method: 'POST',
        route: '/api/datasets',
        status: 201,
      });
      expect(access.filter((l) => l.request_id === 'acc-1')).toHaveLength(1);
    } finally {
      await s.app.stop();
    }
  });

  test('when keys and tokens are made, used and refused, then no log line at debug level holds a key secret, a token or a session cookie', async () => {
    const s = await start({ ACCESS_LOG: 'debug', PUBLIC_READ: 'false' }, 'debug');
    try {
      const secrets: string[] = [API_KEY];
      const post = (p: string, body: unknown, headers: Record<string, string>) =>
        fetch(s.base + p, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify(body),
        });
      const viaApi = (
        (await (
          await post('/api/api-keys', { name: 'api', scopes: ['read', 'events:write'] }, { 'x-api-key': API_KEY })
        ).json()) as { key: string }
      ).key;
      secrets.push(viaApi);
      const operator = await signIn(s.base, s.admin.username, s.admin.password);
      secrets.push(operator.cookie.split('=')[1]!, operator.csrf);
      const page = await fetch(`${s.base}/keys`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          origin: s.base,
          cookie: operator.cookie,
          'x-csrf-token': operator.csrf,
          'hx-request': 'true',
        },
        body: 'name=page&scopes=read',
      });
      const viaPage = /(dim_\d+_[A-Za-z0-9_-]{43})/.exec(await page.text())![1]!;
      secrets.push(viaPage);
      for (const k of [viaApi, viaPage, API_KEY]) {
        const t = (
          (await (await post('/api/tokens', { ttl_seconds: 60 }, { authorization: `Bearer ${k}` })).json()) as {
            token: string;
          }
        ).token;
        secrets.push(t);
        expect((await fetch(`${s.base}/api/datasets`, { headers: { authorization: `Bearer ${t}` } })).status).toBe(200);
        // Refused forms of the same credentials are not logged either.
        expect((await fetch(`${s.base}/api/datasets`, { headers: { authorization: `Bearer ${t}x` } })).status).toBe(
          401,
        );
        expect((await fetch(`${s.base}/api/datasets`, { headers: { 'x-api-key': `${k}x` } })).status).toBe(401);
      }
      // A tampered session cookie (logged at debug as auth.session_rejected, without the token).
      expect(
        (await fetch(`${s.base}/`, { redirect: 'manual', headers: { cookie: `${operator.cookie}x` } })).status,
      ).toBe(303);
      expect(s.lines().some((l) => l.event === 'auth.session_rejected' && typeof l.request_id === 'string')).toBe(true);
      expect(s.lines().filter((l) => l.event === 'http.request').length).toBeGreaterThan(10);
      const all = s.logs.join('');
      for (const secret of secrets) {
        // The key's secret part (after dim_<id>_), or the whole value for the others.
        const part = secret.startsWith('dim_') ? keySecret(secret) : secret;
        expect({ secret: part.slice(0, 12), found: all.includes(part) }).toEqual({
          secret: part.slice(0, 12),
          found: false,
        });
      }
    } finally {
      await s.app.stop();
    }
  });
});
