import request from 'supertest';
import { API_KEY, startApp, waitFor } from './support/harness';

/** A small seeded generator (mulberry32): the same seed gives the same requests, so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY_STRINGS = [
  '',
  ' ',
  '../../etc/passwd',
  '..\\..\\windows',
  '%2e%2e%2f',
  'a\u0000b',
  '\u0007bell',
  'ℌ𝔢𝔩𝔩𝔬 🌍',
  '\u202eevil',
  'x'.repeat(5_000),
  '<script>alert(1)</script>',
  "'; drop table datasets; --",
  'HOT',
  'COLD',
  'PUBLIC',
  'read',
  'write',
  'true',
  '1e309',
  '-1',
  'NaN',
  '{}',
  '\n\r\t',
];
const NASTY_NUMBERS = [0, -1, -0.5, 1e308, -1e308, 2 ** 53 + 1, 1e-320, 123.456, 7, Number.MAX_SAFE_INTEGER];

function value(r: () => number, depth = 0): unknown {
  const k = Math.floor(r() * (depth > 2 ? 6 : 9));
  switch (k) {
    case 0:
      return NASTY_STRINGS[Math.floor(r() * NASTY_STRINGS.length)];
    case 1:
      return NASTY_NUMBERS[Math.floor(r() * NASTY_NUMBERS.length)];
    case 2:
      return r() < 0.5;
    case 3:
      return null;
    case 4:
      return Math.floor(r() * 10);
    case 5:
      return String.fromCharCode(...Array.from({ length: Math.floor(r() * 20) }, () => Math.floor(r() * 0x2fff)));
    case 6:
      return Array.from({ length: Math.floor(r() * 4) }, () => value(r, depth + 1));
    case 7:
    case 8:
      return object(r, depth + 1);
  }
  return undefined;
}

const FIELDS = [
  'name',
  'size_gb',
  'description',
  'tags',
  'dataset_id',
  'dataset',
  'type',
  'access_type',
  'bytes',
  'ts',
  'scan',
  'id',
  'tier',
  'location',
  'target_tier',
  'target_storage',
  'reason',
  'mode',
  'pin',
  'max_latency_ms',
  'placements',
  'egress_per_gb',
  'interval_ms',
  'budget_moves',
  'hysteresis',
  'locations',
  'note',
  'current_tier',
  'storage_type',
  'zzz',
];

function object(r: () => number, depth = 0): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const n = Math.floor(r() * 5);
  for (let i = 0; i < n; i++) o[FIELDS[Math.floor(r() * FIELDS.length)]!] = value(r, depth + 1);
  return o;
}

const RAW_BODIES = [
  '{',
  '[1,',
  '{"name": }',
  'null',
  '"just a string"',
  '[]',
  '[{}]',
  '\u0000\u0001',
  '{"name": "x"}'.repeat(3),
  'NaN',
  '{"size_gb": 1e999}',
];
/** Which collection a route template addresses (datasets, migrations, …). */
const url0 = (path: (id: string) => string): string => path('ID').split('/')[2] ?? '';

const IDS = ['1', '2', '0', '-1', 'abc', '99999999999999999999', '1.5', '%2e%2e', '1e3', ''];

describe('fuzzing every route with bad requests', () => {
  test('when thousands of generated bad requests arrive, then every answer is a 4xx or a success, never a 5xx, and the data stays intact', async () => {
    const s = await startApp({ SCHEDULER_ENABLED: 'false', INGEST_MAX_BODY: '256kb' });
    try {
      const http = s.app.http;
      const key = { 'x-api-key': API_KEY };
      // Datasets 1 and 2 are fair game for the fuzzer (its ids include them); a third, with known
      // counts, checks that nothing accepted is lost or changed by the noise.
      for (const name of ['fuzz-target-1', 'fuzz-target-2'])
        await request(http).post('/api/datasets').set(key).send({ name }).expect(201);
      const keep = (
        await request(http).post('/api/datasets').set(key).send({ name: 'keep-me', size_gb: 3 }).expect(201)
      ).body.id as number;
      await request(http)
        .post('/api/events')
        .set(key)
        .send(Array.from({ length: 40 }, (_, i) => ({ id: `keep-${i}`, dataset_id: keep, type: 'read' })))
        .expect(202);
      await waitFor(
        async () => (await request(http).get(`/api/datasets/${keep}`)).body.access_count === 40,
        'the known events',
      );

      const r = rng(20261125);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
      const routes: [string, (id: string) => string][] = [
        ['POST', () => '/api/datasets'],
        ['PATCH', (id) => `/api/datasets/${id}`],
        ['DELETE', (id) => `/api/datasets/${id}`],
        ['POST', () => '/api/events'],
        ['POST', () => '/api/stream/send'],
        ['PUT', (id) => `/api/datasets/${id}/policy`],
        ['PUT', () => '/api/catalog'],
        ['PUT', () => '/api/scheduler/settings'],
        ['POST', (id) => `/api/datasets/${id}/moves`],
        ['POST', (id) => `/api/migrate_enqueue/${id}`],
        ['POST', (id) => `/api/datasets/${id}/migrate`],
        ['POST', () => '/api/keys/rotate'],
        ['DELETE', (id) => `/api/migrations/${id}`],
        ['PUT', (id) => `/api/datasets/${id}/content`],
        [
          'GET',
          (id) =>
            `/api/datasets?limit=${id}&offset=${pick(IDS)}&sort=${encodeURIComponent(pick(NASTY_STRINGS))}&tier=${encodeURIComponent(pick(NASTY_STRINGS))}`,
        ],
        ['GET', (id) => `/api/analytics/${id}?hours=${pick(IDS)}&bucket_minutes=${pick(IDS)}`],
        ['GET', (id) => `/api/migrations?state=${encodeURIComponent(pick(NASTY_STRINGS))}&dataset_id=${id}`],
        ['GET', (id) => `/api/recommendations?limit=${id}`],
        ['GET', (id) => `/api/ml/predict/${id}?hours=${pick(IDS)}`],
        ['GET', (id) => `/api/datasets/${id}/decision?fresh=${pick(IDS)}`],
        ['GET', (id) => `/api/datasets/${id}/content`],
        ['GET', (id) => `/api/migration_history?skip=${id}&limit=${pick(IDS)}`],
      ];
      const failures: string[] = [];
      const byClass: Record<string, number> = {};
      const N = 2_500;
      for (let i = 0; i < N; i++) {
        const [method, path] = pick(routes);
        // The kept dataset may be patched, moved or pinned by a valid request, never deleted.
        const deletes = method === 'DELETE' && url0(path) === 'datasets';
        const id = r() < 0.3 && !deletes ? String(keep) : pick(IDS);
        const url = path(id);
        let req = request(http)[method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete'](url);
        if (r() < 0.9) req = req.set(key);
        if (method !== 'GET' && method !== 'DELETE') {
          const shape = r();
          if (shape < 0.15) req = req.set('content-type', 'application/json').send(pick(RAW_BODIES));
          else if (shape < 0.2)
            req = req
              .set('content-type', 'application/x-ndjson')
              .send(Array.from({ length: 3 }, () => JSON.stringify(value(r))).join('\n'));
          else if (shape < 0.23) req = req.set('content-type', 'text/plain').send('hello');
          else if (shape < 0.25)
            req = req.set('content-type', 'application/json').send(JSON.stringify({ name: 'x'.repeat(300_000) }));
          else
            req = req
              .set('content-type', 'application/json')
              .send(JSON.stringify(r() < 0.7 ? object(r) : value(r)) ?? 'null');
        }
        const res = await req;
        byClass[`${Math.floor(res.status / 100)}xx`] = (byClass[`${Math.floor(res.status / 100)}xx`] ?? 0) + 1;
        if (res.status >= 400 && res.status < 500 && typeof res.body?.detail !== 'string')
          failures.push(`${method} ${url.slice(0, 120)} → ${res.status} without a detail message`);
        if (res.status >= 500)
          failures.push(`${method} ${url.slice(0, 120)} → ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
      }
      expect(failures).toEqual([]);
      // The generator really does send mostly bad requests: most answers are refusals.
      expect(byClass['4xx']! > N / 2).toBe(true);
      await request(http).get('/healthz').expect(200);
      await request(http).get('/readyz').expect(200);
      // Nothing accepted before was lost: the kept dataset still counts its 40 events (plus any the fuzz sent it validly).
      const after = (await request(http).get(`/api/datasets/${keep}`).expect(200)).body;
      expect(after.access_count).toBeGreaterThanOrEqual(40);
    } finally {
      await s.stop();
    }
  }, 120_000);
});
