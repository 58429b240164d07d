import request from 'supertest';
import { ManualClock } from '../src/platform/clock';
import { API_KEY, startApp, waitFor } from './support/harness';

const key = { 'x-api-key': API_KEY };

describe('embedded bus and statistics', () => {
  test('when a dataset sits idle, then its decayed rates fall with time alone', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 5, 12));
    const s = await startApp({}, clock);
    try {
      const { body } = await request(s.app.http).post('/api/datasets').set(key).send({ name: 'idle' }).expect(201);
      await request(s.app.http)
        .post('/api/events')
        .set(key)
        .send(Array.from({ length: 40 }, () => ({ dataset_id: body.id, type: 'read' })))
        .expect(202);
      const stats = async () => (await request(s.app.http).get(`/api/datasets/${body.id}/stats`).expect(200)).body;
      await waitFor(async () => (await stats()).reads === 40, '40 reads');
      const before = (await stats()).rates;
      expect(before['1h'].decayed_count).toBeCloseTo(40);
      clock.advance(3_600_000);
      const after = (await stats()).rates;
      expect(after['1h'].decayed_count).toBeCloseTo(20);
      expect(after['1h'].events_per_hour).toBeCloseTo(before['1h'].events_per_hour / 2);
      expect(after['1d'].decayed_count).toBeCloseTo(40 * Math.pow(2, -1 / 24));
      clock.advance(7 * 86_400_000 - 3_600_000);
      expect((await stats()).rates['1w'].decayed_count).toBeCloseTo(20);
    } finally {
      await s.stop();
    }
  });

  test('when a record cannot be parsed or names a deleted dataset, then it goes to the dead letters and the loop goes on', async () => {
    const s = await startApp();
    try {
      const http = s.app.http;
      const keep = (await request(http).post('/api/datasets').set(key).send({ name: 'keep' }).expect(201)).body
        .id as number;
      const gone = (await request(http).post('/api/datasets').set(key).send({ name: 'gone' }).expect(201)).body
        .id as number;
      await request(http).delete(`/api/datasets/${gone}`).set(key).expect(204);
      // A corrupt record and an event for the deleted dataset, straight onto the log.
      const db = s.app.database.db;
      await db
        .insertInto('event_log')
        .values([
          { dataset_id: keep, payload: '{"v":1,"dataset_id":', appended_at: Date.now() },
          {
            dataset_id: gone,
            payload: JSON.stringify({
              v: 1,
              dataset_id: gone,
              type: 'read',
              bytes: 0,
              ts: Date.now(),
              scan: false,
              received_at: Date.now(),
            }),
            appended_at: Date.now(),
          },
        ])
        .execute();
      await request(http).post('/api/events').set(key).send({ dataset_id: keep, type: 'read' }).expect(202);
      await waitFor(
        async () => (await request(http).get(`/api/datasets/${keep}/stats`)).body.reads === 1,
        'the good event',
      );
      const dl = await request(http).get('/api/dead-letters').expect(200);
      expect(dl.headers['x-total-count']).toBe('2');
      expect(dl.body.map((d: { reason: string }) => d.reason)).toEqual([
        expect.stringMatching(/unknown dataset/),
        expect.stringMatching(/invalid JSON/),
      ]);
      expect(dl.body[1]).toMatchObject({ topic: 'embedded', partition: 0, payload: '{"v":1,"dataset_id":' });
      expect((await request(http).get('/api/stream')).body).toMatchObject({
        kind: 'embedded',
        lag: 0,
        connected: true,
      });
    } finally {
      await s.stop();
    }
  });

  test('when the app stops and starts again on the same data, then the consumer resumes from its stored offset', async () => {
    const first = await startApp();
    const http = first.app.http;
    const id = (await request(http).post('/api/datasets').set(key).send({ name: 'resume' }).expect(201)).body
      .id as number;
    await request(http)
      .post('/api/events')
      .set(key)
      .send(Array.from({ length: 500 }, () => ({ dataset_id: id, type: 'read' })))
      .expect(202);
    await first.stop();
    const second = await startApp({ DATA_DIR: first.dir });
    try {
      await request(second.app.http)
        .post('/api/events')
        .set(key)
        .send(Array.from({ length: 5 }, () => ({ dataset_id: id, type: 'write' })))
        .expect(202);
      const stats = await waitFor(async () => {
        const b = (await request(second.app.http).get(`/api/datasets/${id}/stats`)).body;
        return b.writes === 5 ? b : undefined;
      }, 'the new events');
      expect(stats.reads).toBe(500);
    } finally {
      await second.stop();
    }
  });
});

describe('embedded bus under pressure', () => {
  test('when the log queue is full, then requests get 503 with Retry-After and every 202 is counted exactly', async () => {
    // INGEST_MAX_BATCH=10 bounds the embedded queue at 100 events waiting for a commit.
    const s = await startApp({ INGEST_MAX_BATCH: '10' });
    try {
      const http = s.app.http;
      const id = (await request(http).post('/api/datasets').set(key).send({ name: 'pressure' }).expect(201)).body
        .id as number;
      const batch = Array.from({ length: 10 }, () => ({ dataset_id: id, type: 'read' }));
      // The writer held by a transaction: nothing commits, so the queue fills whatever the machine's
      // speed (a fast commit drained it before 60 requests arrived), and the bound must refuse the rest.
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const holding = s.app.database.db.transaction().execute(() => held);
      let answered = 0;
      const sent = Array.from({ length: 60 }, () =>
        request(http)
          .post('/api/events')
          .set(key)
          .send(batch)
          .then((r) => {
            answered++;
            return r;
          }),
      );
      // 100 events fit (10 requests): the other 50 are answered while the writer is still held.
      await waitFor(() => answered >= 50 || undefined, 'the refusals');
      expect(answered).toBe(50);
      release();
      await holding;
      const results = await Promise.all(sent);
      const accepted = results.filter((r) => r.status === 202).length;
      const refused = results.filter((r) => r.status === 503);
      expect(accepted + refused.length).toBe(60);
      expect(refused.length).toBeGreaterThan(0);
      expect(refused[0]!.headers['retry-after']).toMatch(/^\d+$/);
      expect(refused[0]!.body.detail).toMatch(/queue is full/);
      await request(http).post('/api/events').set(key).send({ dataset_id: id, type: 'write' }).expect(202);
      const stats = await waitFor(async () => {
        const b = (await request(http).get(`/api/datasets/${id}/stats`)).body;
        return b.writes === 1 ? b : undefined;
      }, 'the marker');
      expect(stats.reads).toBe(accepted * 10);
    } finally {
      await s.stop();
    }
  });
});
