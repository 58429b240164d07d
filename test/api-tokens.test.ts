import crypto from 'node:crypto';
import { SignJWT } from 'jose';
import request from 'supertest';
import { apiTokenKey } from '../src/auth/api-tokens';
import { API_KEY, startApp } from './support/harness';

const admin = { 'x-api-key': API_KEY };
const SESSION_SECRET = 'token-test-session-secret-0123456789abcdef';
// What resolveSessionKey makes of SESSION_SECRET, and the API-token key derived from it.
const sessionKey = new Uint8Array(crypto.createHash('sha256').update(SESSION_SECRET).digest());
const tokenKey = apiTokenKey(sessionKey);

/** Short-lived JWTs minted from API keys (POST /api/tokens), through the real HTTP API. */
describe('API tokens', () => {
  let s: Awaited<ReturnType<typeof startApp>>;
  let datasetId: number;
  let readerId: string;
  beforeAll(async () => {
    s = await startApp({
      SCHEDULER_ENABLED: 'false',
      PUBLIC_READ: 'false',
      SESSION_SECRET,
      API_TOKEN_TTL: '15m',
      API_TOKEN_MAX_TTL: '1h',
    });
    datasetId = (await request(s.app.http).post('/api/datasets').set(admin).send({ name: 'tokens-ds' }).expect(201))
      .body.id as number;
    readerId = String(
      (
        await request(s.app.http)
          .post('/api/api-keys')
          .set(admin)
          .send({ name: 'reader', scopes: ['read'] })
          .expect(201)
      ).body.id,
    );
  });
  afterAll(async () => {
    await s?.stop();
  });

  const newKey = async (scopes: string[]) =>
    (
      await request(s.app.http)
        .post('/api/api-keys')
        .set(admin)
        .send({ name: `k-${scopes.join('-')}`, scopes })
        .expect(201)
    ).body as { id: number; key: string };
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
  const sign = (
    claims: Record<string, unknown>,
    opts: { key?: Uint8Array; aud?: string; exp?: number; sub?: string } = {},
  ) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ scope: 'read', ...claims })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer('data-in-motion')
      .setAudience(opts.aud ?? 'data-in-motion/api')
      .setSubject(opts.sub ?? readerId)
      .setIssuedAt(now)
      .setExpirationTime(opts.exp ?? now + 600)
      .sign(opts.key ?? tokenKey);
  };

  test("when a key asks for a token, then it gets a Bearer JWT with the key's scopes that expires in 15 minutes by default and works on reads and writes", async () => {
    const k = await newKey(['read', 'events:write']);
    const before = Date.now();
    const r = await request(s.app.http).post('/api/tokens').set('x-api-key', k.key).expect(200);
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.body).toMatchObject({ token_type: 'Bearer', scopes: ['read', 'events:write'], expires_in: 900 });
    expect(r.body.token.split('.')).toHaveLength(3);
    const exp = Date.parse(r.body.expires_at);
    expect(exp).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 900_000);
    expect(exp).toBeLessThanOrEqual(before + 901_000);
    const payload = JSON.parse(Buffer.from(r.body.token.split('.')[1], 'base64url').toString()) as Record<
      string,
      unknown
    >;
    expect(payload).toMatchObject({
      sub: String(k.id),
      aud: 'data-in-motion/api',
      iss: 'data-in-motion',
      scope: 'read events:write',
    });
    await request(s.app.http).get('/api/datasets').set(bearer(r.body.token)).expect(200);
    await request(s.app.http)
      .post('/api/events')
      .set(bearer(r.body.token))
      .send({ dataset_id: datasetId, type: 'read' })
      .expect(202);
    await request(s.app.http).get('/api/auth/validate').set(bearer(r.body.token)).expect(200, { ok: true });
    // The plain key still works as a bearer value (it has no dots, so no JWT check is made).
    await request(s.app.http).get('/api/datasets').set(bearer(k.key)).expect(200);
  });

  test('when a token asks for fewer scopes, then it can do only those; asking for more than the key holds is 403 naming the scope', async () => {
    const k = await newKey(['read', 'events:write']);
    const narrow = (
      await request(s.app.http)
        .post('/api/tokens')
        .set(bearer(k.key))
        .send({ scopes: ['read'], ttl_seconds: 60 })
        .expect(200)
    ).body;
    expect(narrow).toMatchObject({ scopes: ['read'], expires_in: 60 });
    await request(s.app.http).get('/api/datasets').set(bearer(narrow.token)).expect(200);
    const denied = await request(s.app.http)
      .post('/api/events')
      .set(bearer(narrow.token))
      .send({ dataset_id: datasetId, type: 'read' })
      .expect(403);
    expect(denied.body).toMatchObject({
      scope_needed: 'events:write',
      detail: 'this API token lacks the scope events:write',
    });
    const more = await request(s.app.http)
      .post('/api/tokens')
      .set(bearer(k.key))
      .send({ scopes: ['read', 'admin'] })
      .expect(403);
    expect(more.body).toMatchObject({ scope_needed: 'admin', field: 'scopes' });
    expect(more.body.detail).toContain('admin');
    // The bootstrap key is admin: it may mint any scope.
    const fromBootstrap = (
      await request(s.app.http)
        .post('/api/tokens')
        .set(admin)
        .send({ scopes: ['datasets:write'] })
        .expect(200)
    ).body;
    await request(s.app.http)
      .post('/api/datasets')
      .set(bearer(fromBootstrap.token))
      .send({ name: 'via-token' })
      .expect(201);
    await request(s.app.http)
      .post('/api/api-keys')
      .set(bearer(fromBootstrap.token))
      .send({ name: 'x', scopes: ['read'] })
      .expect(403);
  });

  test('when the token request is bad, then a 4xx names the field, and a token cannot mint another', async () => {
    const k = await newKey(['read']);
    const t = (body: unknown) =>
      request(s.app.http)
        .post('/api/tokens')
        .set('x-api-key', k.key)
        .send(body as object);
    expect((await t({ ttl_seconds: 3601 }).expect(400)).body.detail).toMatch(/^ttl_seconds: .*3600/);
    expect((await t({ ttl_seconds: 'long' }).expect(400)).body.detail).toMatch(/^ttl_seconds/);
    expect((await t({ scopes: ['root'] }).expect(400)).body.detail).toMatch(/^scopes\[0\]/);
    expect((await t({ scopes: [] }).expect(400)).body.detail).toMatch(/^scopes/);
    expect((await t({ lifetime: 5 }).expect(400)).body.detail).toMatch(/^lifetime: unknown field/);
    expect((await request(s.app.http).post('/api/tokens').expect(401)).body.detail).toMatch(/API key is needed/);
    const tok = (await t({}).expect(200)).body.token as string;
    expect((await request(s.app.http).post('/api/tokens').set(bearer(tok)).expect(403)).body.detail).toMatch(
      /token cannot mint/,
    );
  });

  test('when the parent key is revoked, then its tokens stop working at once', async () => {
    const k = await newKey(['read']);
    const tok = (await request(s.app.http).post('/api/tokens').set('x-api-key', k.key).expect(200)).body
      .token as string;
    await request(s.app.http).get('/api/datasets').set(bearer(tok)).expect(200);
    await request(s.app.http).delete(`/api/api-keys/${k.id}`).set(admin).expect(200);
    const r = await request(s.app.http).get('/api/datasets').set(bearer(tok)).expect(401);
    expect(r.body.detail).toBe('bearer token refused: its API key was revoked');
  });

  test('when a token is unsigned, wrongly signed, expired, for another audience, a page session or malformed, then it is refused with 401 saying why', async () => {
    const now = Math.floor(Date.now() / 1000);
    const good = await sign({});
    const [h, p] = good.split('.') as [string, string, string];
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${p}.`;
    const hs512 = await new SignJWT({ scope: 'read' })
      .setProtectedHeader({ alg: 'HS512' })
      .setIssuer('data-in-motion')
      .setAudience('data-in-motion/api')
      .setSubject(readerId)
      .setExpirationTime(now + 600)
      .sign(new Uint8Array(64).fill(7));
    const cases: [string, string, RegExp][] = [
      ['alg none', none, /algorithm not allowed/],
      ['another algorithm', hs512, /algorithm not allowed/],
      ['wrong key', await sign({}, { key: crypto.randomBytes(32) }), /signature does not verify/],
      [
        'tampered payload',
        `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), scope: 'admin' })).toString('base64url')}.${good.split('.')[2]}`,
        /signature does not verify/,
      ],
      ['expired', await sign({}, { exp: now - 60 }), /expired/],
      [
        'wrong audience',
        await sign({}, { aud: 'data-in-motion/pages' }),
        /wrong audience \(expected data-in-motion\/api\)/,
      ],
      // A page session is signed with the session key itself, not the derived one.
      [
        'page session token',
        await sign({ csrf: 'x' }, { key: sessionKey, aud: 'data-in-motion/pages' }),
        /signature does not verify/,
      ],
      ['malformed', 'a.b.c', /malformed token/],
      ['bootstrap without its binding', await sign({}, { sub: 'bootstrap' }), /API_KEY that is no longer configured/],
      [
        'bootstrap with a forged binding',
        await sign({ bkf: 'é'.repeat(22) }, { sub: 'bootstrap' }),
        /API_KEY that is no longer configured/,
      ],
      ['unknown key', await sign({}, { sub: '987654' }), /its API key was revoked/],
      ['not base64', 'x'.repeat(10) + '..' + 'y', /malformed token/],
    ];
    await request(s.app.http).get('/api/datasets').set(bearer(good)).expect(200);
    for (const [what, token, why] of cases) {
      for (const [method, path, body] of [
        ['get', '/api/datasets', undefined],
        ['post', '/api/events', { dataset_id: datasetId, type: 'read' }],
      ] as const) {
        const req = method === 'get' ? request(s.app.http).get(path) : request(s.app.http).post(path).send(body);
        const r = await req.set(bearer(token));
        expect({ what, method, status: r.status }).toEqual({ what, method, status: 401 });
        expect({ what, detail: r.body.detail as string }).toEqual({ what, detail: expect.stringMatching(why) });
        expect(JSON.stringify(r.body)).not.toMatch(/\/(src|dist|node_modules)\/|at .*\.js:\d+/);
      }
    }
  });

  test("when API_KEY changes, then tokens minted from the old bootstrap key are refused; other keys' tokens live on", async () => {
    const fromBootstrap = (await request(s.app.http).post('/api/tokens').set(admin).expect(200)).body.token as string;
    const k = await newKey(['read']);
    const fromKey = (await request(s.app.http).post('/api/tokens').set('x-api-key', k.key).expect(200)).body
      .token as string;
    await request(s.app.http).get('/api/datasets').set(bearer(fromBootstrap)).expect(200);
    await s.stop();
    s = await startApp({
      DATA_DIR: s.dir,
      SCHEDULER_ENABLED: 'false',
      PUBLIC_READ: 'false',
      SESSION_SECRET,
      API_KEY: 'a-new-bootstrap-key-456',
    });
    expect((await request(s.app.http).get('/api/datasets').set(bearer(fromBootstrap)).expect(401)).body.detail).toMatch(
      /API_KEY that is no longer configured/,
    );
    await request(s.app.http).get('/api/datasets').set(bearer(fromKey)).expect(200);
    const fresh = (
      await request(s.app.http).post('/api/tokens').set('x-api-key', 'a-new-bootstrap-key-456').expect(200)
    ).body.token as string;
    await request(s.app.http).get('/api/datasets').set(bearer(fresh)).expect(200);
  });
});
