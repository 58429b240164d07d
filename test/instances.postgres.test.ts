import crypto from 'node:crypto';
import request from 'supertest';
import { API_KEY, startApp, waitFor } from './support/harness';
import { freshPostgresUrl } from './support/postgres';

const key = { 'x-api-key': API_KEY };

describe('several instances on one PostgreSQL database', () => {
  test('when three instances start at once on a new database, then all start, the schema and first user are made once, and each sees what another wrote', async () => {
    const shared = {
      DATABASE_URL: await freshPostgresUrl(),
      ENCRYPTION_KEY: crypto.randomBytes(32).toString('hex'),
      SESSION_SECRET: crypto.randomBytes(32).toString('hex'),
      SCHEDULER_ENABLED: 'false',
      // No content is stored here; the product asks that stores be shared on PostgreSQL (issue 14).
      STORE_ONPREM_SHARED: 'true',
      STORE_PRIVATE_SHARED: 'true',
      STORE_PUBLIC_SHARED: 'true',
    };
    const apps = await Promise.all([0, 1, 2].map(() => startApp(shared)));
    try {
      const [a, b, c] = [apps[0]!.app, apps[1]!.app, apps[2]!.app];
      const db = a.database.db.withTables<{ users: { username: string } }>();
      expect(await db.selectFrom('users').select('username').execute()).toEqual([{ username: 'admin' }]);
      expect(await db.selectFrom('key_meta').selectAll().execute()).toHaveLength(1);

      const id = (await request(a.http).post('/api/datasets').set(key).send({ name: 'shared' }).expect(201)).body
        .id as number;
      expect((await request(b.http).get(`/api/datasets/${id}`).expect(200)).body.name).toBe('shared');
      await request(c.http)
        .post('/api/events')
        .set(key)
        .send(Array.from({ length: 30 }, (_, i) => ({ id: `e-${i}`, dataset_id: id, type: 'read' })))
        .expect(202);
      // Three consumers on one log and one set of applied offsets: each event counts once.
      for (const s of apps) {
        await waitFor(
          async () => (await request(s.app.http).get(`/api/datasets/${id}`)).body.access_count === 30,
          '30 accesses seen from every instance',
        );
      }
      await new Promise((r) => setImmediate(r));
      expect((await request(a.http).get(`/api/datasets/${id}/stats`)).body.reads).toBe(30);
    } finally {
      await Promise.all(apps.map((s) => s.stop()));
    }
  });
});
