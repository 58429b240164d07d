import request from 'supertest';
import { API_KEY, startApp, waitFor } from './support/harness';

const key = { 'x-api-key': API_KEY };

/** The value of one series in a Prometheus text exposition, or undefined. */
function series(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{(.*)\})? (.+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[3] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[4]);
  }
  return undefined;
}

describe('/metrics', () => {
  let s: Awaited<ReturnType<typeof startApp>>;
  beforeAll(async () => {
    s = await startApp({ SCHEDULER_ENABLED: 'false' });
  });
  afterAll(async () => {
    await s?.stop();
  });

  test('when events flow, data moves and routes are called, then the Prometheus series say so', async () => {
    const http = s.app.http;
    const d = (await request(http).post('/api/datasets').set(key).send({ name: 'metered', size_gb: 2 }).expect(201))
      .body;
    await request(http)
      .post('/api/events')
      .set(key)
      .send(Array.from({ length: 25 }, (_, i) => ({ id: `m-${i}`, dataset_id: d.id, type: 'read' })))
      .expect(202);
    await waitFor(
      async () => (await request(http).get(`/api/datasets/${d.id}`)).body.access_count === 25,
      'events applied',
    );
    const m = (
      await request(http)
        .post(`/api/datasets/${d.id}/moves`)
        .set(key)
        .send({ location: 'PUBLIC', tier: 'COLD' })
        .expect(202)
    ).body;
    await waitFor(async () => (await request(http).get(`/api/migrations/${m.id}`)).body.state === 'done', 'the move');
    await request(http).get('/api/datasets/999999').expect(404);

    const res = await request(http).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.text;
    expect(series(text, 'dim_events_received_total')).toBe(25);
    expect(series(text, 'dim_events_applied_total')).toBe(25);
    expect(series(text, 'dim_apply_batch_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(series(text, 'dim_moves', { state: 'done' })).toBe(1);
    expect(series(text, 'dim_placement_datasets', { location: 'PUBLIC', tier: 'COLD' })).toBe(1);
    expect(series(text, 'dim_placement_bytes', { location: 'PUBLIC', tier: 'COLD' })).toBe(2 * 1024 ** 3);
    expect(series(text, 'dim_consumer_lag')).toBe(0);
    expect(series(text, 'dim_bus_connected')).toBe(1);
    expect(
      series(text, 'dim_http_request_seconds_count', { method: 'GET', route: '/api/datasets/:id', status: '4xx' }),
    ).toBe(1);
    expect(
      series(text, 'dim_http_request_seconds_count', { method: 'POST', route: '/api/events', status: '2xx' }),
    ).toBe(1);
    // Every series line is well formed.
    for (const line of text.trim().split('\n'))
      expect(line).toMatch(/^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{[^}]*\})? -?[0-9.e+-]+|[a-z_]+(\{[^}]*\})? \+Inf)$/);
  });
});
