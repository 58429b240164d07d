import express from 'express';
import request from 'supertest';
import { createLogger } from '../../../src/platform/logger';
import { requestIds } from '../../../src/platform/request-context';
import { errorHandler } from '../../../src/web/errors';

describe('request ids', () => {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('debug', {}, (l) => void lines.push(JSON.parse(l) as Record<string, unknown>));
  const app = express();
  app.use(requestIds());
  app.get('/work', async (_req, res) => {
    await new Promise((r) => setImmediate(r)); // the log line comes after an async boundary
    logger.info('work.done', { n: 1 });
    res.json({ ok: true });
  });
  app.get('/boom', async () => {
    await new Promise((r) => setImmediate(r));
    throw new Error('/secret/path/leaked? no');
  });
  app.use(errorHandler(logger));

  test("when a request is served, then its answer carries the caller's id, or a new one when the given one is not a sane token", async () => {
    const r = await request(app).get('/work').set('x-request-id', 'abc-123').expect(200);
    expect(r.headers['x-request-id']).toBe('abc-123');
    const fresh = await request(app).get('/work').set('x-request-id', 'bad id with spaces').expect(200);
    expect(fresh.headers['x-request-id']).toMatch(/^[0-9a-f]{16}$/);
  });

  test('when a route fails unexpectedly, then the client gets the request id and no detail, and the log has both', async () => {
    const r = await request(app).get('/boom').expect(500);
    expect(r.body).toEqual({ detail: 'internal error', request_id: r.headers['x-request-id'] });
    expect(lines.find((l) => l.event === 'http.unhandled_error')).toMatchObject({
      request_id: r.headers['x-request-id'],
    });
  });
});
