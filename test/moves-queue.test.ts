import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { AcceleratedClock } from '../src/platform';
import { API_KEY, startApp, waitFor } from './support/harness';
import { binaryBody } from './support/http-client';

const key = { 'x-api-key': API_KEY };

describe('the move queue', () => {
  // A tight bandwidth budget keeps a move in flight long enough to act on it.
  let s: Awaited<ReturnType<typeof startApp>>;
  beforeAll(async () => {
    s = await startApp({ MOVE_BANDWIDTH: '256kb', MOVE_CONCURRENCY: '1' });
  });
  afterAll(async () => {
    await s?.stop();
  });

  async function withContent(name: string, bytes: number): Promise<{ id: number; data: Buffer }> {
    const id = (await request(s.app.http).post('/api/datasets').set(key).send({ name }).expect(201)).body.id as number;
    const data = crypto.randomBytes(bytes);
    await request(s.app.http)
      .put(`/api/datasets/${id}/content`)
      .set(key)
      .set('content-type', 'application/octet-stream')
      .send(data)
      .expect(200);
    return { id, data };
  }

  test('when a move is in flight, then progress shows, conflicting actions get 409, reads serve the current copy, and cancel leaves the dataset where it was', async () => {
    const http = s.app.http;
    const { id, data } = await withContent('slow', 2 * 1024 * 1024);
    const m = (
      await request(http)
        .post(`/api/datasets/${id}/moves`)
        .set(key)
        .send({ tier: 'COLD', location: 'PUBLIC' })
        .expect(202)
    ).body;
    const running = await waitFor(async () => {
      const r = (await request(http).get(`/api/migrations/${m.id}`)).body;
      return r.state === 'copying' && r.bytes_done > 0 ? r : undefined;
    }, 'the copy to be under way');
    expect(running.bytes_total).toBeGreaterThan(data.length);
    expect(running.rate_bytes_per_s).toBeGreaterThan(0);
    expect(running.eta_seconds).toBeGreaterThan(0);
    expect((await request(http).get('/api/migrations?state=copying')).body.map((x: { id: number }) => x.id)).toContain(
      m.id,
    );
    expect((await request(http).get(`/api/datasets/${id}`)).body.migrating).toBe(true);

    await request(http).post(`/api/datasets/${id}/moves`).set(key).send({ tier: 'HOT' }).expect(409);
    await request(http).post(`/api/datasets/${id}/migrate`).set(key).send({ target_tier: 'HOT' }).expect(409);
    await request(http)
      .put(`/api/datasets/${id}/content`)
      .set(key)
      .set('content-type', 'application/octet-stream')
      .send(Buffer.from('new'))
      .expect(409);
    await request(http).delete(`/api/datasets/${id}`).set(key).expect(409);
    const during = await request(http).get(`/api/datasets/${id}/content`).buffer(true).parse(binaryBody);
    expect((during.body as Buffer).equals(data)).toBe(true);

    const cancelled = (await request(http).delete(`/api/migrations/${m.id}`).set(key).expect(200)).body;
    expect(cancelled.state).toBe('cancelled');
    const d = (await request(http).get(`/api/datasets/${id}`)).body;
    expect(d).toMatchObject({ current_tier: 'WARM', storage_type: 'PRIVATE', migrating: false });
    const coldDir = path.join(s.dir, 'tiers', 'PUBLIC', 'COLD');
    expect(fs.readdirSync(coldDir)).toEqual([]);
    await request(http).delete(`/api/migrations/${m.id}`).set(key).expect(409);
  });

  test('when moves wait in the queue, then a planned one can be cancelled before it starts', async () => {
    const http = s.app.http;
    const a = await withContent('queued-a', 1024 * 1024);
    const b = await withContent('queued-b', 1024 * 1024);
    const ma = (await request(http).post(`/api/datasets/${a.id}/moves`).set(key).send({ tier: 'HOT' }).expect(202))
      .body;
    const mb = (await request(http).post(`/api/datasets/${b.id}/moves`).set(key).send({ tier: 'HOT' }).expect(202))
      .body;
    expect(mb.state).toBe('planned');
    const cancelled = (await request(http).delete(`/api/migrations/${mb.id}`).set(key).expect(200)).body;
    expect(cancelled).toMatchObject({ state: 'cancelled', error: 'cancelled before it started' });
    await request(http).delete(`/api/migrations/${ma.id}`).set(key).expect(200);
  });

  test("when another instance takes over a running move's claim, then this one gives the move up and counts it in /metrics", async () => {
    const http = s.app.http;
    const metric = async (): Promise<number> => {
      const text = (await request(http).get('/metrics').expect(200)).text;
      return Number(/^dim_move_claims_lost_total (\d+)$/m.exec(text)?.[1]);
    };
    expect(await metric()).toBe(0);
    const { id } = await withContent('taken-over', 2 * 1024 * 1024);
    const m = (await request(http).post(`/api/datasets/${id}/moves`).set(key).send({ tier: 'COLD' }).expect(202))
      .body as { id: number };
    await waitFor(async () => {
      const r = (await request(http).get(`/api/migrations/${m.id}`)).body;
      return r.state === 'copying' && r.bytes_done > 0;
    }, 'the copy to be under way');
    // As another instance would after finding this one's claim lapsed: the next renewal sees it.
    const moves = () => s.app.database.db.updateTable('moves').where('id', '=', m.id);
    await moves()
      .set({ owner: 'elsewhere', claimed_until: Date.now() + 3_600_000 })
      .execute();
    await waitFor(async () => (await metric()) === 1, 'the lost claim to be counted');
    // The row is the other instance's to finish; there is none here, so it is closed for the tests after.
    await moves().set({ state: 'failed', owner: null, claimed_until: null, finished_at: Date.now() }).execute();
  });
});

describe('move rates under a simulated clock', () => {
  let s: Awaited<ReturnType<typeof startApp>>;
  beforeAll(async () => {
    // The demo's clock: a day every 1.5 s of wall-clock time.
    s = await startApp({ MOVE_BANDWIDTH: '256kb', MOVE_CONCURRENCY: '1' }, new AcceleratedClock(Date.now(), 57_600));
  });
  afterAll(async () => {
    await s?.stop();
  });

  test('when the product clock runs 57,600 times faster, then the rate and the time left are in wall-clock seconds', async () => {
    const http = s.app.http;
    const id = (await request(http).post('/api/datasets').set(key).send({ name: 'fast-clock' }).expect(201)).body
      .id as number;
    await request(http)
      .put(`/api/datasets/${id}/content`)
      .set(key)
      .set('content-type', 'application/octet-stream')
      .send(crypto.randomBytes(1024 * 1024))
      .expect(200);
    const m = (await request(http).post(`/api/datasets/${id}/moves`).set(key).send({ tier: 'COLD' }).expect(202)).body;
    const running = await waitFor(async () => {
      const r = (await request(http).get(`/api/migrations/${m.id}`)).body;
      return r.state === 'copying' && r.bytes_done > 64 * 1024 ? r : undefined;
    }, 'the copy to be under way');
    // About 256 KiB/s of real time (a first burst aside); on the simulated clock it would read a few B/s and days left.
    expect(running.rate_bytes_per_s).toBeGreaterThan(50 * 1024);
    expect(running.eta_seconds).toBeLessThan(60);
    await request(http).delete(`/api/migrations/${m.id}`).set(key).expect(200);
  });
});
