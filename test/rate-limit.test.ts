import request from 'supertest';
import { RateLimiter } from '../src/auth/rate-limit';
import { API_KEY, startApp, waitFor } from './support/harness';

describe('rate limits on write routes', () => {
  test('when a caller exceeds its rate, then it gets 429 with Retry-After, and tokens come back with time', () => {
    let t = 0;
    const l = new RateLimiter(2, 3, () => t);
    for (let i = 0; i < 3; i++) l.take('a');
    expect(() => l.take('a')).toThrow(/rate limit/);
    l.take('b'); // callers do not share a bucket
    t += 500; // one token back at 2/s
    l.take('a');
    try {
      l.take('a');
      throw new Error('should have been limited');
    } catch (err) {
      expect((err as { status: number; headers: Record<string, string> }).status).toBe(429);
      expect(Number((err as { headers: Record<string, string> }).headers['Retry-After'])).toBeGreaterThanOrEqual(1);
    }
  });

  test('when the API is written to faster than RATE_LIMIT, then the excess is refused with 429 and nothing of it is accepted', async () => {
    // One token a second, bursts of 5: the first write (the dataset) and four events drain the
    // burst; what else is accepted is what the clock refilled while the requests ran (none on a
    // quick machine, bounded by the elapsed seconds on a loaded one).
    const s = await startApp({ RATE_LIMIT: '1', RATE_LIMIT_BURST: '5', SCHEDULER_ENABLED: 'false' });
    try {
      const http = s.app.http;
      const started = Date.now();
      const id = (await request(http).post('/api/datasets').set('x-api-key', API_KEY).send({ name: 'limited' })).body
        .id as number;
      const responses = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          request(http)
            .post('/api/events')
            .set('x-api-key', API_KEY)
            .send({ id: `rl-${i}`, dataset_id: id, type: 'read' }),
        ),
      );
      const refilled = Math.floor((Date.now() - started) / 1000);
      const statuses = responses.map((r) => r.status);
      for (const r of responses.filter((x) => x.status === 429)) {
        expect(r.headers['retry-after']).toMatch(/^\d+$/);
        expect(r.body.detail).toMatch(/rate limit/);
      }
      const accepted = statuses.filter((x) => x === 202).length;
      expect(accepted).toBeGreaterThanOrEqual(4); // 5 tokens: one went on the dataset
      expect(accepted).toBeLessThanOrEqual(4 + refilled);
      expect(statuses.filter((x) => x === 429).length).toBe(10 - accepted);
      // Reads are not limited; only the accepted events count.
      await waitFor(
        async () => (await request(http).get(`/api/datasets/${id}`).expect(200)).body.access_count === accepted,
        'the accepted events',
      );
      // Nothing more arrives: once the bus has no event left to apply, the count is final.
      await waitFor(async () => (await request(http).get('/api/stream').expect(200)).body.lag === 0, 'the bus drained');
      expect((await request(http).get(`/api/datasets/${id}`)).body.access_count).toBe(accepted);
    } finally {
      await s.stop();
    }
  });
});
