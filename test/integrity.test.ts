import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import request from 'supertest';
import { App } from '../src/app';
import { parseConfig } from '../src/config';
import { createLogger } from '../src/platform/logger';
import { API_KEY, startApp, tempDir, waitFor } from './support/harness';
import { signIn } from './support/web-harness';

const key = { 'x-api-key': API_KEY };
const CHUNK = 4096;
/** New uploads are format version 2: a 32-byte prefix and the label, then the chunks from 4 KiB. */
const DATA_START = 4096;
type Line = Record<string, unknown>;

/** A GET over a real socket: the status line if one came, the bytes that came, and whether it ended cleanly. */
function rawGet(
  base: string,
  p: string,
): Promise<{ status?: number; headers: http.IncomingHttpHeaders; body: Buffer; complete: boolean }> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    const req = http.get(base + p, (res) => {
      res.on('data', (b: Buffer) => parts.push(b));
      const done = (complete: boolean) => () =>
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts), complete });
      res.on('end', done(true));
      res.on('aborted', done(false));
      res.on('error', done(false));
    });
    req.on('error', () => resolve({ headers: {}, body: Buffer.concat(parts), complete: false }));
  });
}

describe('damaged stored objects', () => {
  let app: App;
  let base: string;
  let dir: string;
  const logs: string[] = [];
  const lines = (): Line[] => logs.map((l) => JSON.parse(l) as Line);
  let n = 0;

  beforeAll(async () => {
    dir = tempDir('dim-integrity-');
    const config = parseConfig({
      DATA_DIR: dir,
      API_KEY,
      LOG_LEVEL: 'warn',
      PORT: '0',
      HOST: '127.0.0.1',
      SCHEDULER_ENABLED: 'false',
      STORAGE_CHUNK_SIZE: String(CHUNK),
      MOVE_BANDWIDTH: '0',
    });
    app = new App(config, { logger: createLogger('warn', {}, (l) => void logs.push(l)) });
    await app.start({ listen: true });
    base = `http://127.0.0.1:${app.port}`;
  });
  afterAll(async () => {
    await app?.stop();
  });

  /** A dataset with `bytes` of random content, and the path of its stored object. */
  async function stored(bytes: number): Promise<{ id: number; data: Buffer; file: string }> {
    const id = (
      await request(app.http)
        .post('/api/datasets')
        .set(key)
        .send({ name: `dmg-${++n}` })
        .expect(201)
    ).body.id as number;
    const data = crypto.randomBytes(bytes);
    const up = await request(app.http)
      .put(`/api/datasets/${id}/content`)
      .set(key)
      .set('content-type', 'application/octet-stream')
      .send(data)
      .expect(200);
    const [location, tier, objectId] = (up.body.location_uri as string).replace('dim://', '').split('/');
    return { id, data, file: path.join(dir, 'tiers', location!, tier!, `${objectId}.enc`) };
  }

  function flip(file: string, at: number): void {
    const fd = fs.openSync(file, 'r+');
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, at);
    b[0] = b[0]! ^ 0xff;
    fs.writeSync(fd, b, 0, 1, at);
    fs.closeSync(fd);
  }

  async function download(id: number): Promise<Buffer> {
    const res = await rawGet(base, `/api/datasets/${id}/content`);
    expect(res).toMatchObject({ status: 200, complete: true });
    return res.body;
  }

  async function failures(foundBy: string): Promise<number> {
    const text = (await request(app.http).get('/metrics').expect(200)).text;
    const m = new RegExp(`^dim_integrity_failures_total\\{found_by="${foundBy}"\\} (\\d+)$`, 'm').exec(text);
    return Number(m?.[1] ?? NaN);
  }

  test('when an object is truncated, then the download is a 500 JSON naming it with a request id that finds the logged failure, counted, and the dataset is marked damaged until replaced', async () => {
    const { id, file } = await stored(5 * CHUNK + 100);
    const before = await failures('download');
    fs.truncateSync(file, fs.statSync(file).size - 50);

    const res = await request(app.http).get(`/api/datasets/${id}/content`).expect(500);
    expect(res.type).toBe('application/json');
    expect(res.body.detail).toMatch(/^the stored content failed verification: /);
    expect(res.body).toMatchObject({ dataset_id: id, damaged: true });
    const requestId = res.body.request_id as string;
    expect(requestId).toBe(res.headers['x-request-id']);
    const logged = lines().find((l) => l.event === 'storage.integrity_failure' && l.request_id === requestId);
    expect(logged).toMatchObject({ dataset_id: id, found_by: 'download', level: 'error' });
    expect(typeof logged!.object).toBe('string');
    expect(await failures('download')).toBe(before + 1);

    const d = (await request(app.http).get(`/api/datasets/${id}`).expect(200)).body;
    expect(d.damaged).toMatchObject({ detail: expect.stringMatching(/bytes/) });
    expect(Date.parse(d.damaged.at)).toBeGreaterThan(0);
    const first = lines().find((l) => l.event === 'auth.first_user')!;
    const { cookie } = await signIn(base, String(first.username), String(first.password));
    const page = await fetch(`${base}/datasets/${id}`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('id="damaged-badge"');
    expect(
      await request(app.http)
        .get('/metrics')
        .then((r) => r.text),
    ).toMatch(/^dim_datasets_damaged [1-9]/m);

    // Replaced: the flag goes.
    const fresh = crypto.randomBytes(1000);
    await request(app.http)
      .put(`/api/datasets/${id}/content`)
      .set(key)
      .set('content-type', 'application/octet-stream')
      .send(fresh)
      .expect(200);
    expect((await request(app.http).get(`/api/datasets/${id}`)).body.damaged).toBeNull();
  });

  test('when the first chunk is damaged, then the client gets a 500 JSON error, not a bare closed socket', async () => {
    const { id, file } = await stored(3 * CHUNK);
    flip(file, DATA_START + 100); // past the header and label, inside chunk 0
    const res = await rawGet(base, `/api/datasets/${id}/content`);
    expect(res.status).toBe(500);
    expect(res.complete).toBe(true);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(res.body.toString()) as Record<string, unknown>;
    expect(body.detail).toMatch(/chunk 0 failed authentication/);
    expect(lines().some((l) => l.event === 'storage.integrity_failure' && l.request_id === body.request_id)).toBe(true);
  });

  test("when a byte of an object's label is damaged, then the download is a 500 naming the label", async () => {
    const { id, file } = await stored(3 * CHUNK);
    flip(file, 32 + 300); // inside the sealed catalog facts
    const res = await rawGet(base, `/api/datasets/${id}/content`);
    expect(res.status).toBe(500);
    const body = JSON.parse(res.body.toString()) as Record<string, unknown>;
    expect(body.detail).toMatch(/label failed authentication/);
  });

  test('when a later chunk is damaged, then the answer is cut short of its Content-Length (never a wrong byte), and the failure is logged and counted', async () => {
    // Larger than the download's 4 MiB ring, so the first bytes are sent before the last chunk is opened.
    const { id, data, file } = await stored(12 * 1024 * 1024);
    const before = await failures('download');
    flip(file, fs.statSync(file).size - 200); // in the last chunk
    const res = await rawGet(base, `/api/datasets/${id}/content`);
    expect(res.status).toBe(200);
    expect(Number(res.headers['content-length'])).toBe(data.length);
    expect(res.complete).toBe(false);
    expect(res.body.length).toBeLessThan(data.length);
    expect(res.body.equals(data.subarray(0, res.body.length))).toBe(true);
    expect(await failures('download')).toBe(before + 1);
    expect((await request(app.http).get(`/api/datasets/${id}`)).body.damaged).not.toBeNull();
  });

  test('when a move finds its source damaged, then it fails naming it, leaves the source where it was, copies nothing, and the damage is counted', async () => {
    const { id, file } = await stored(300 * CHUNK);
    const before = await failures('move');
    flip(file, Math.floor(fs.statSync(file).size / 2));
    const damaged = fs.readFileSync(file);
    const m = (
      await request(app.http)
        .post(`/api/datasets/${id}/moves`)
        .set(key)
        .send({ tier: 'COLD', location: 'PUBLIC' })
        .expect(202)
    ).body;
    const done = await waitFor(async () => {
      const r = (await request(app.http).get(`/api/migrations/${m.id}`).expect(200)).body;
      return ['done', 'failed', 'cancelled'].includes(r.state) ? r : undefined;
    }, 'the move to end');
    expect(done.state).toBe('failed');
    expect(done.error).toMatch(/^the source failed verification \(chunk \d+ failed authentication/);
    const d = (await request(app.http).get(`/api/datasets/${id}`)).body;
    expect(d).toMatchObject({ current_tier: 'WARM', storage_type: 'PRIVATE', migrating: false });
    expect(d.damaged).not.toBeNull();
    expect(fs.readFileSync(file).equals(damaged)).toBe(true);
    expect(fs.readdirSync(path.join(dir, 'tiers', 'PUBLIC', 'COLD'))).toEqual([]);
    expect(await failures('move')).toBe(before + 1);
    expect(
      lines().some((l) => l.event === 'storage.integrity_failure' && l.found_by === 'move' && l.dataset_id === id),
    ).toBe(true);
  });

  test('when a scrub runs, then every object is read and authenticated: damage is reported and counted, whole objects are noted verified, and a restored object is no longer damaged', async () => {
    const whole = await stored(20 * CHUNK);
    const hurt = await stored(20 * CHUNK);
    const original = fs.readFileSync(hurt.file);
    flip(hurt.file, DATA_START + 5 * (CHUNK + 16) + 7); // inside chunk 5
    const before = await failures('scrub');

    const report = (await request(app.http).post('/api/scrub?wait=true').set(key).expect(200)).body;
    expect(report.running).toBe(false);
    expect(report.last).toMatchObject({ trigger: 'api', error: null });
    expect(report.last.finished_at).not.toBeNull();
    expect(report.last.damaged).toBeGreaterThanOrEqual(1);
    expect(report.last.objects).toBeGreaterThanOrEqual(2);
    expect((await request(app.http).get('/api/scrub').expect(200)).body.last).toEqual(report.last);
    expect(await failures('scrub')).toBe(before + report.last.damaged);
    const metrics = (await request(app.http).get('/metrics')).text;
    expect(metrics).toContain(`dim_scrub_last{field="damaged"} ${report.last.damaged}`);

    const h = (await request(app.http).get(`/api/datasets/${hurt.id}`)).body;
    expect(h.damaged.detail).toMatch(/chunk 5 failed authentication/);
    expect(h.verified_at).toBeNull();
    const w = (await request(app.http).get(`/api/datasets/${whole.id}`)).body;
    expect(w.damaged).toBeNull();
    expect(Date.parse(w.verified_at)).toBeGreaterThan(0);
    const first = lines().find((l) => l.event === 'auth.first_user')!;
    const { cookie } = await signIn(base, String(first.username), String(first.password));
    expect(await (await fetch(`${base}/datasets/${whole.id}`, { headers: { cookie } })).text()).toContain(
      'id="verified"',
    );
    expect(await (await fetch(`${base}/datasets/${hurt.id}`, { headers: { cookie } })).text()).toContain(
      'id="damaged-badge"',
    );
    expect(
      lines().some(
        (l) => l.event === 'storage.integrity_failure' && l.found_by === 'scrub' && l.dataset_id === hurt.id,
      ),
    ).toBe(true);

    // The operator restores the file from a backup: the next scrub finds it whole.
    fs.writeFileSync(hurt.file, original);
    await request(app.http).post('/api/scrub?wait=true').set(key).expect(200);
    const restored = (await request(app.http).get(`/api/datasets/${hurt.id}`)).body;
    expect(restored.damaged).toBeNull();
    expect(Date.parse(restored.verified_at)).toBeGreaterThan(0);
    expect((await download(hurt.id)).equals(hurt.data)).toBe(true);
  });

  test('when a scrub is asked for without a key or with a bad wait, then it is refused naming why', async () => {
    await request(app.http).post('/api/scrub').expect(401);
    const bad = await request(app.http).post('/api/scrub?wait=maybe').set(key).expect(400);
    expect(bad.body.field).toBe('wait');
  });
});

describe('the scrub budget', () => {
  test('when SCRUB_BANDWIDTH is set, then a scrub reads no faster than it allows', async () => {
    const s = await startApp({ SCRUB_BANDWIDTH: '1mb', STORAGE_CHUNK_SIZE: String(CHUNK) });
    try {
      const id = (await request(s.app.http).post('/api/datasets').set(key).send({ name: 'paced' }).expect(201)).body
        .id as number;
      await request(s.app.http)
        .put(`/api/datasets/${id}/content`)
        .set(key)
        .set('content-type', 'application/octet-stream')
        .send(crypto.randomBytes(3 * 1024 * 1024))
        .expect(200);
      const t0 = Date.now();
      const report = (await request(s.app.http).post('/api/scrub?wait=true').set(key).expect(200)).body;
      // A full bucket lets the first MiB through at once; the other two cost a second each.
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1_500);
      expect(report.last).toMatchObject({ objects: 1, bytes: 3 * 1024 * 1024, damaged: 0 });
    } finally {
      await s.stop();
    }
  });
});
