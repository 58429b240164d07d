import request from 'supertest';
import { API_KEY, keySecret, startApp, tempDir } from './support/harness';

const admin = { 'x-api-key': API_KEY };

describe('API keys with scopes', () => {
  let s: Awaited<ReturnType<typeof startApp>>;
  beforeAll(async () => {
    s = await startApp({ SCHEDULER_ENABLED: 'false', PUBLIC_READ: 'false' });
  });
  afterAll(async () => {
    await s?.stop();
  });

  test('when keys are created with scopes, then each may do only what its scopes allow, by either header', async () => {
    const http = s.app.http;
    const ds = (await request(http).post('/api/datasets').set(admin).send({ name: 'scoped' }).expect(201)).body
      .id as number;
    const ev = (
      await request(http)
        .post('/api/api-keys')
        .set(admin)
        .send({ name: 'collector', scopes: ['events:write'] })
        .expect(201)
    ).body;
    expect(ev.key).toMatch(/^dim_\d+_[A-Za-z0-9_-]{43}$/);
    const reader = (
      await request(http)
        .post('/api/api-keys')
        .set(admin)
        .send({ name: 'dashboards', scopes: ['read'] })
        .expect(201)
    ).body.key as string;

    await request(http).post('/api/events').set('x-api-key', ev.key).send({ dataset_id: ds, type: 'read' }).expect(202);
    await request(http)
      .post('/api/events')
      .set('authorization', `Bearer ${ev.key}`)
      .send({ dataset_id: ds, type: 'read' })
      .expect(202);
    const denied = await request(http)
      .post('/api/datasets')
      .set('x-api-key', ev.key)
      .send({ name: 'nope' })
      .expect(403);
    expect(denied.body).toMatchObject({ scope_needed: 'datasets:write' });
    await request(http).post('/api/keys/rotate').set('x-api-key', ev.key).send({}).expect(403);
    await request(http)
      .post('/api/api-keys')
      .set('x-api-key', ev.key)
      .send({ name: 'x', scopes: ['admin'] })
      .expect(403);
    // PUBLIC_READ=false: reading needs the read scope.
    await request(http).get('/api/datasets').expect(401);
    await request(http).get('/api/datasets').set('x-api-key', ev.key).expect(403);
    await request(http).get('/api/datasets').set('x-api-key', reader).expect(200);
    await request(http).post('/api/events').set('x-api-key', reader).send({ dataset_id: ds, type: 'read' }).expect(403);
    await request(http).get('/api/auth/validate').set('x-api-key', reader).expect(200, { ok: true });
  });

  test('when reads are not public, then /readyz answers every probe but shows its details only to a reader', async () => {
    const http = s.app.http;
    const anonymous = (await request(http).get('/readyz').expect(200)).body;
    expect(anonymous.status).toBe('ready');
    expect(anonymous.checks).toEqual(expect.objectContaining({ database: 'ok' }));
    expect(anonymous).not.toHaveProperty('details');
    const writerOnly = (
      await request(http)
        .post('/api/api-keys')
        .set(admin)
        .send({ name: 'probe', scopes: ['events:write'] })
        .expect(201)
    ).body.key as string;
    expect((await request(http).get('/readyz').set('x-api-key', writerOnly).expect(200)).body).not.toHaveProperty(
      'details',
    );
    expect(
      (await request(http).get('/readyz').set('authorization', 'Bearer a.b.c').expect(200)).body,
    ).not.toHaveProperty('details');
    const reader = (await request(http).get('/readyz').set(admin).expect(200)).body;
    expect(reader.details.master_key).toEqual(expect.objectContaining({ fingerprint: expect.any(String) }));
  });

  test('when a key is revoked, then it stops working at once; the list never shows a secret', async () => {
    const http = s.app.http;
    const k = (
      await request(http)
        .post('/api/api-keys')
        .set(admin)
        .send({ name: 'temp', scopes: ['read', 'events:write'] })
        .expect(201)
    ).body;
    await request(http).get('/api/datasets').set('x-api-key', k.key).expect(200);
    await request(http).delete(`/api/api-keys/${k.id}`).set(admin).expect(200);
    await request(http).get('/api/datasets').set('x-api-key', k.key).expect(401);
    await request(http).delete('/api/api-keys/999999').set(admin).expect(404);
    const list = (await request(http).get('/api/api-keys').set(admin).expect(200)).body as {
      id: number;
      revoked_at: string | null;
    }[];
    expect(list.find((x) => x.id === k.id)!.revoked_at).not.toBeNull();
    expect(JSON.stringify(list)).not.toContain(keySecret(k.key));
    // Stored hashed: the database holds no key.
    const rows = await s.app.database.db.selectFrom('api_keys').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(keySecret(k.key));
    // A forged key with a real id and a wrong secret is refused.
    await request(http)
      .get('/api/datasets')
      .set('x-api-key', `dim_${list[0]!.id}_${'A'.repeat(43)}`)
      .expect(401);
  });

  test('when a used key is revoked, then its last use stays on the list, and survives a restart', async () => {
    const dir = tempDir();
    const first = await startApp({ DATA_DIR: dir, SCHEDULER_ENABLED: 'false', PUBLIC_READ: 'false' });
    const created = (
      await request(first.app.http)
        .post('/api/api-keys')
        .set(admin)
        .send({ name: 'ci', scopes: ['read'] })
        .expect(201)
    ).body as { id: number; key: string };
    await request(first.app.http).get('/api/datasets').set('x-api-key', created.key).expect(200);
    const usedAt = (await request(first.app.http).get('/api/api-keys').set(admin).expect(200)).body.find(
      (k: { id: number }) => k.id === created.id,
    ).last_used_at as string;
    expect(usedAt).toEqual(expect.any(String));
    await request(first.app.http).delete(`/api/api-keys/${created.id}`).set(admin).expect(200);
    const afterRevoke = (await request(first.app.http).get('/api/api-keys').set(admin).expect(200)).body.find(
      (k: { id: number }) => k.id === created.id,
    );
    expect(afterRevoke).toMatchObject({ last_used_at: usedAt, revoked_at: expect.any(String) });
    await first.stop();
    const second = await startApp({ DATA_DIR: dir, SCHEDULER_ENABLED: 'false', PUBLIC_READ: 'false' });
    try {
      const listed = (await request(second.app.http).get('/api/api-keys').set(admin).expect(200)).body.find(
        (k: { id: number }) => k.id === created.id,
      );
      expect(listed).toMatchObject({ last_used_at: usedAt });
    } finally {
      await second.stop();
    }
  });

  test('when a new key is asked for badly, then the error names the field', async () => {
    const http = s.app.http;
    expect(
      (
        await request(http)
          .post('/api/api-keys')
          .set(admin)
          .send({ name: 'x', scopes: ['root'] })
          .expect(400)
      ).body.detail,
    ).toMatch(/scopes\[0\]/);
    expect(
      (
        await request(http)
          .post('/api/api-keys')
          .set(admin)
          .send({ scopes: ['read'] })
          .expect(400)
      ).body.detail,
    ).toMatch(/name/);
    expect(
      (await request(http).post('/api/api-keys').set(admin).send({ name: 'x', scopes: [] }).expect(400)).body.detail,
    ).toMatch(/scopes/);
  });
});

describe('/metrics and PUBLIC_READ', () => {
  test('when PUBLIC_READ is false, then /metrics needs a key or token with the read scope, as a scraper sends it', async () => {
    const s = await startApp({ SCHEDULER_ENABLED: 'false', PUBLIC_READ: 'false' });
    try {
      const http = s.app.http;
      expect((await request(http).get('/metrics').expect(401)).body.detail).toMatch(/read scope/);
      const writer = (
        await request(http)
          .post('/api/api-keys')
          .set(admin)
          .send({ name: 'w', scopes: ['events:write'] })
          .expect(201)
      ).body.key as string;
      expect(
        (await request(http).get('/metrics').set('authorization', `Bearer ${writer}`).expect(403)).body,
      ).toMatchObject({ scope_needed: 'read' });
      const scraper = (
        await request(http)
          .post('/api/api-keys')
          .set(admin)
          .send({ name: 'prometheus', scopes: ['read'] })
          .expect(201)
      ).body.key as string;
      const m = await request(http).get('/metrics').set('authorization', `Bearer ${scraper}`).expect(200);
      expect(m.text).toContain('dim_events_received_total');
      const token = (await request(http).post('/api/tokens').set('x-api-key', scraper).expect(200)).body
        .token as string;
      await request(http).get('/metrics').set('authorization', `Bearer ${token}`).expect(200);
      await request(http).get('/metrics').set('authorization', 'Bearer not.a.token').expect(401);
      // Health checks stay open for the orchestrator.
      await request(http).get('/healthz').expect(200);
    } finally {
      await s.stop();
    }
  });

  test('when PUBLIC_READ is true, then /metrics stays open', async () => {
    const s = await startApp({ SCHEDULER_ENABLED: 'false', PUBLIC_READ: 'true' });
    try {
      expect((await request(s.app.http).get('/metrics').expect(200)).text).toContain('dim_events_received_total');
    } finally {
      await s.stop();
    }
  });
});
