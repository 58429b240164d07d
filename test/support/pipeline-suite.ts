import request from 'supertest';
import type { App } from '../../src/app';
import { API_KEY, startApp, waitFor, type DatabaseKind } from './harness';

type Started = Awaited<ReturnType<typeof startApp>>;

/**
 * The behaviour a user of the event pipeline depends on, run against each bus: the same
 * assertions hold for the embedded log and for Kafka.
 */
export function pipelineSuite(
  busName: string,
  env: () => Record<string, string>,
  database: DatabaseKind = 'sqlite',
): void {
  describe(`event pipeline on the ${busName} bus, state on ${database}`, () => {
    let s: Started;
    let app: App;
    const key = { 'x-api-key': API_KEY };
    let n = 0;
    const uniqueName = (base: string): string => `${base}-${++n}-${Date.now()}`;

    beforeAll(async () => {
      s = await startApp(env(), undefined, { database });
      app = s.app;
    });
    afterAll(async () => {
      await s?.stop();
    });

    async function createDataset(name = uniqueName('ds'), extra: Record<string, unknown> = {}): Promise<number> {
      const res = await request(app.http)
        .post('/api/datasets')
        .set(key)
        .send({ name, size_gb: 1.5, ...extra })
        .expect(201);
      return res.body.id as number;
    }
    async function stats(id: number): Promise<{ writes: number; reads: number; access_count: number }> {
      return (await request(app.http).get(`/api/datasets/${id}/stats`).expect(200)).body;
    }
    /** Sends a marker event and waits for it: everything accepted before it has been applied. */
    async function drain(id: number): Promise<void> {
      const before = (await stats(id)).writes;
      await request(app.http)
        .post('/api/events')
        .set(key)
        .send({ dataset_id: id, type: 'write', bytes: 0 })
        .expect(202);
      await waitFor(async () => (await stats(id)).writes === before + 1, 'the marker event to be applied');
    }

    test('when the app is up, then /healthz and /readyz answer 200', async () => {
      await request(app.http).get('/healthz').expect(200, { status: 'ok' });
      const ready = await waitFor(async () => {
        const r = await request(app.http).get('/readyz');
        return r.status === 200 ? r : undefined;
      }, 'readiness');
      expect(ready.body.checks).toEqual({ database: 'ok', bus: 'ok', consumer: 'ok', process: 'ok' });
    });

    test("when the seed README's curl loop sends 20 events, then the access count is 20", async () => {
      const id = await createDataset();
      for (let i = 0; i < 20; i++) {
        await request(app.http)
          .post('/api/stream/send')
          .set(key)
          .send({ dataset_id: id, access_type: 'read' })
          .expect(200, { status: 'sent_to_kafka' });
      }
      const d = await waitFor(async () => {
        const r = await request(app.http).get(`/api/datasets/${id}`).expect(200);
        return r.body.access_count === 20 ? r.body : undefined;
      }, 'access_count 20');
      expect(d.last_access).toEqual(expect.any(String));
      expect((await stats(id)).reads).toBe(20);
    });

    test('when a batch of 1,000 events arrives as JSON and as NDJSON, then every read, write and byte is counted', async () => {
      const a = await createDataset();
      const bName = uniqueName('by-name');
      const b = await createDataset(bName);
      const batch = Array.from({ length: 1000 }, (_, i) =>
        i % 2 === 0 ? { dataset_id: a, type: 'read', bytes: 10 } : { dataset: bName, type: 'write', bytes: 3 },
      );
      await request(app.http).post('/api/events').set(key).send(batch).expect(202, { accepted: 1000 });
      const nd = Array.from({ length: 10 }, () =>
        JSON.stringify({ dataset_id: a, type: 'read', bytes: 1, scan: true }),
      ).join('\n');
      await request(app.http)
        .post('/api/events')
        .set(key)
        .set('content-type', 'application/x-ndjson')
        .send(nd + '\n')
        .expect(202, { accepted: 10 });
      await waitFor(async () => (await stats(a)).reads === 510, 'dataset a to reach 510 reads');
      const sa = await stats(a);
      expect(sa).toMatchObject({ reads: 510, writes: 0, scans: 10, bytes_read: 5010, access_count: 510 });
      await waitFor(async () => (await stats(b)).writes === 500, 'dataset b to reach 500 writes');
      expect(await stats(b)).toMatchObject({ reads: 0, writes: 500, bytes_written: 1500 });
    });

    test('when the same event ids are sent twice, then each event counts once', async () => {
      const id = await createDataset();
      const events = Array.from({ length: 50 }, (_, i) => ({ id: `evt-${id}-${i}`, dataset_id: id, type: 'read' }));
      await request(app.http).post('/api/events').set(key).send(events).expect(202);
      await request(app.http).post('/api/events').set(key).send(events).expect(202);
      await request(app.http).post('/api/events').set(key).send([events[0], events[0], events[1]]).expect(202);
      await request(app.http).post('/api/events').set(key).send(events[2]).expect(202, { accepted: 1 });
      await drain(id);
      expect((await stats(id)).reads).toBe(50);
    });

    test('when an event carries its own ts, then it lands in the bucket of that time', async () => {
      const id = await createDataset();
      const now = Date.now();
      const tenMinAgo = new Date(Math.floor(now / 60_000) * 60_000 - 10 * 60_000 + 5_000).toISOString();
      await request(app.http)
        .post('/api/events')
        .set(key)
        .send([
          { dataset_id: id, type: 'read', ts: tenMinAgo },
          { dataset_id: id, type: 'read', ts: Date.parse(tenMinAgo) + 1000 },
          { dataset_id: id, type: 'write' },
        ])
        .expect(202);
      await waitFor(async () => (await stats(id)).access_count === 3, 'three events');
      const r = await request(app.http).get(`/api/analytics/${id}?hours=1&bucket_minutes=1`).expect(200);
      expect(r.body).toMatchObject({ dataset_id: id, hours: 1, bucket_minutes: 1 });
      expect(r.body.series).toHaveLength(60);
      const nonEmpty = r.body.series.filter((p: { count: number }) => p.count > 0);
      expect(nonEmpty.map((p: { bucket_start: string; count: number }) => [p.bucket_start, p.count])).toEqual([
        [new Date(Math.floor(Date.parse(tenMinAgo) / 60_000) * 60_000).toISOString(), 2],
        [new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString(), 1],
      ]);
      const hourly = await request(app.http).get(`/api/analytics/${id}?hours=24&bucket_minutes=60`).expect(200);
      expect(hourly.body.series).toHaveLength(24);
      expect(hourly.body.series.reduce((t: number, p: { count: number }) => t + p.count, 0)).toBe(3);
    });

    test('when a batch holds one invalid item, then it is rejected whole with its index and field', async () => {
      const id = await createDataset();
      const bad = [
        { dataset_id: id, type: 'read' },
        { dataset_id: id, type: 'read' },
        { dataset_id: id, type: 'peek' },
      ];
      const r = await request(app.http).post('/api/events').set(key).send(bad).expect(400);
      expect(r.body).toMatchObject({ index: 2, field: 'type' });
      expect(r.body.detail).toMatch(/item 2: type/);
      const cases: Array<[unknown, string]> = [
        [[{ type: 'read' }], 'dataset_id'],
        [[{ dataset_id: id, type: 'read', bytes: -1 }], 'bytes'],
        [[{ dataset_id: id, type: 'read', bytes: 'many' }], 'bytes'],
        [[{ dataset_id: 'one', type: 'read' }], 'dataset_id'],
        [[{ dataset_id: id, dataset: 'x', type: 'read' }], 'dataset'],
        [[{ dataset_id: id, type: 'read', ts: 1_700_000_000 }], 'ts'],
        [[{ dataset_id: id, type: 'read', ts: '2025-01-01 10:00' }], 'ts'],
        [[{ dataset_id: id, type: 'read', ts: Date.now() + 86_400_000 }], 'ts'],
        [[{ dataset_id: id, type: 'read', scan: 'yes' }], 'scan'],
        [[{ dataset_id: id, type: 'read', id: 42 }], 'id'],
        [[{ dataset_id: id, type: 'read', colour: 'red' }], 'colour'],
        [[{ dataset_id: id }], 'type'],
        [['not an object'], 'event'],
      ];
      for (const [body, field] of cases) {
        const res = await request(app.http)
          .post('/api/events')
          .set(key)
          .send(body as object)
          .expect(400);
        expect(res.body.field).toBe(field);
        expect(res.body.index).toBe(0);
        expect(res.body.detail).toContain(field);
      }
      await drain(id);
      expect((await stats(id)).reads).toBe(0);
    });

    test('when an event names an unknown dataset, then the request is refused with 404 naming it and nothing is accepted', async () => {
      const id = await createDataset();
      const r = await request(app.http)
        .post('/api/events')
        .set(key)
        .send([
          { dataset_id: id, type: 'read' },
          { dataset: 'no-such-dataset', type: 'read' },
          { dataset_id: 987654, type: 'read' },
        ])
        .expect(404);
      expect(r.body.unknown).toEqual([
        { index: 1, dataset: 'no-such-dataset' },
        { index: 2, dataset_id: 987654 },
      ]);
      expect(r.body.detail).toMatch(/no-such-dataset/);
      await request(app.http).post('/api/stream/send').set(key).send({ dataset_id: 987654 }).expect(404);
      await drain(id);
      expect((await stats(id)).reads).toBe(0);
    });

    test('when the body is malformed, too large, empty or of the wrong type, then the answer is a clear 4xx', async () => {
      const post = () => request(app.http).post('/api/events').set(key);
      const bad = await post().set('content-type', 'application/json').send('{"dataset_id": 1,').expect(400);
      expect(bad.body).toMatchObject({ field: 'body' });
      expect(bad.body.detail).toMatch(/invalid JSON/);
      const huge = await post()
        .set('content-type', 'application/json')
        .send('[' + '{"dataset_id":1,"type":"read"},'.repeat(600_000) + '{}]')
        .expect(413);
      expect(huge.body.detail).toMatch(/larger than the limit of 16 MiB/);
      await post().send([]).expect(400);
      const ct = await post().set('content-type', 'text/plain').send('hello').expect(415);
      expect(ct.body.detail).toMatch(/application\/json/);
      const nd = await post()
        .set('content-type', 'application/x-ndjson')
        .send('{"dataset_id":1,"type":"read"}\nnot json\n')
        .expect(400);
      expect(nd.body).toMatchObject({ field: 'body', index: 1 });
      await request(app.http)
        .post('/api/events')
        .send([{ dataset_id: 1, type: 'read' }])
        .expect(401, { detail: 'Invalid API key' });
    });

    test('when datasets are created, listed, changed and deleted, then the API answers as documented', async () => {
      const name = uniqueName('crud');
      const created = await request(app.http)
        .post('/api/datasets')
        .set(key)
        .send({ name, size_gb: 2, description: 'daily sales', tags: ['finance'] })
        .expect(201);
      expect(created.body).toMatchObject({
        name,
        size_gb: 2,
        current_tier: 'WARM',
        storage_type: 'PRIVATE',
        access_count: 0,
        last_access: null,
        migrating: false,
        location_uri: null,
        last_storage_migration: null,
        description: 'daily sales',
        tags: ['finance'],
      });
      expect(Date.parse(created.body.created_at)).toBeGreaterThan(0);
      const id = created.body.id as number;
      await request(app.http).post('/api/datasets').set(key).send({ name, size_gb: 1 }).expect(409);
      await request(app.http).post('/api/datasets').send({ name: 'nokey' }).expect(401, { detail: 'Invalid API key' });
      await request(app.http)
        .post('/api/datasets')
        .set('authorization', `Bearer ${API_KEY}`)
        .send({ name: uniqueName('bearer') })
        .expect(201);
      for (const [body, field] of [
        [{}, 'name'],
        [{ name: '' }, 'name'],
        [{ name: 'a\u0000b' }, 'name'],
        [{ name: uniqueName('x'), size_gb: 'big' }, 'size_gb'],
        [{ name: uniqueName('x'), size_gb: -1 }, 'size_gb'],
        [{ name: uniqueName('x'), tags: 'a,b' }, 'tags'],
        [{ name: uniqueName('x'), current_tier: 'LUKEWARM' }, 'current_tier'],
        [{ name: uniqueName('x'), sizegb: 1 }, 'sizegb'],
      ] as Array<[object, string]>) {
        const r = await request(app.http).post('/api/datasets').set(key).send(body).expect(400);
        expect(r.body.field).toBe(field);
      }
      const hot = await request(app.http)
        .post('/api/datasets')
        .set(key)
        .send({ name: uniqueName('hot'), current_tier: 'HOT' })
        .expect(201);
      expect(hot.body).toMatchObject({ current_tier: 'HOT', storage_type: 'ONPREM' });

      await request(app.http).get(`/api/datasets/${id}`).expect(200);
      await request(app.http)
        .get('/api/datasets/999999')
        .expect(404, { detail: 'dataset not found', dataset_id: 999999 });
      await request(app.http).get('/api/datasets/abc').expect(400);

      const list = await request(app.http)
        .get(`/api/datasets?name=${encodeURIComponent(name)}`)
        .expect(200);
      expect(list.body.map((d: { id: number }) => d.id)).toEqual([id]);
      const hots = await request(app.http).get('/api/datasets?tier=HOT&location=ONPREM').expect(200);
      expect(hots.body.map((d: { id: number }) => d.id)).toContain(hot.body.id);
      expect(hots.body.every((d: { current_tier: string }) => d.current_tier === 'HOT')).toBe(true);
      await request(app.http).get('/api/datasets?tier=TEPID').expect(400);
      const page = await request(app.http).get('/api/datasets?limit=2&offset=0').expect(200);
      expect(page.body).toHaveLength(2);
      expect(Number(page.headers['x-total-count'])).toBeGreaterThan(2);
      expect(page.headers.link).toMatch(/offset=2/);

      const renamed = uniqueName('renamed');
      const patched = await request(app.http)
        .patch(`/api/datasets/${id}`)
        .set(key)
        .send({ name: renamed, size_gb: 3 })
        .expect(200);
      expect(patched.body).toMatchObject({ name: renamed, size_gb: 3, description: 'daily sales' });
      await request(app.http).patch(`/api/datasets/${id}`).set(key).send({ name: hot.body.name }).expect(409);
      await request(app.http).patch(`/api/datasets/${id}`).set(key).send({ tier: 'HOT' }).expect(400);
      // Events by the new name reach the dataset; the old name is unknown now.
      await request(app.http).post('/api/events').set(key).send({ dataset: renamed, type: 'read' }).expect(202);
      await request(app.http).post('/api/events').set(key).send({ dataset: name, type: 'read' }).expect(404);

      await request(app.http).delete(`/api/datasets/${id}`).set(key).expect(204);
      await request(app.http).get(`/api/datasets/${id}`).expect(404);
      await request(app.http).delete(`/api/datasets/${id}`).set(key).expect(404);
      await request(app.http).post('/api/stream/send').set(key).send({ dataset_id: id }).expect(404);
      await request(app.http).get('/api/auth/validate').set(key).expect(200, { ok: true });
      await request(app.http)
        .get('/api/auth/validate')
        .set('x-api-key', 'wrong')
        .expect(401, { detail: 'Invalid API key' });
    });
  });
}
