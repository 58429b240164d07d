import request from 'supertest';
import { RateLimiter } from '../src/auth/rate-limit';
import { ManualClock } from '../src/platform/clock';
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
    // The app's clock stands still: on a loaded machine, 8 requests could take long enough for a
    // token to come back at 5/s, and the count would be the machine's, not the limiter's.
    const clock = new ManualClock(Date.now());
    const s = await startApp({ RATE_LIMIT: '5', RATE_LIMIT_BURST: '5', SCHEDULER_ENABLED: 'false' }, clock);
    try {
      const http = s.app.http;
      const id = (await request(http).post('/api/datasets').set('x-api-key', API_KEY).send({ name: 'limited' })).body
        .id as number;
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) {
        const r = await request(http)
          .post('/api/events')
          .set('x-api-key', API_KEY)
          .send({ id: `rl-${i}`, dataset_id: id, type: 'read' });
        statuses.push(r.status);
        if (r.status === 429) {
          expect(r.headers['retry-after']).toMatch(/^\d+$/);
          expect(r.body.detail).toMatch(/rate limit/);
        }
      }
      expect(statuses.filter((x) => x === 202).length).toBe(4); // 5 tokens: one went on the dataset
      expect(statuses.filter((x) => x === 429).length).toBe(4);
      // Reads are not limited; only the accepted events count.
      await waitFor(
        async () => (await request(http).get(`/api/datasets/${id}`).expect(200)).body.access_count === 4,
        'the 4 accepted events',
      );
      // Nothing more arrives: once the bus has no event left to apply, the count is final.
      await waitFor(async () => (await request(http).get('/api/stream').expect(200)).body.lag === 0, 'the bus drained');
      expect((await request(http).get(`/api/datasets/${id}`)).body.access_count).toBe(4);
    } finally {
      await s.stop();
    }
  });
});
