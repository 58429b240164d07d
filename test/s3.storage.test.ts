import crypto from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import request from 'supertest';
import type { App } from '../src/app';
import { API_KEY, startApp, waitFor } from './support/harness';
import { binaryBody } from './support/http-client';
import { startS3 } from './support/s3-server';
import { signIn, startWebApp } from './support/web-harness';

const key = { 'x-api-key': API_KEY };
const CHUNK = 4096;
const BUCKET = 'dim-public';
const sha = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');

/**
 * Dataset content on an S3 location (PUBLIC on a real s3rver the suite starts): the same
 * answers as on the file store, with only ciphertext in the bucket.
 */
describe('dataset content on an S3 store', () => {
  let s3: Awaited<ReturnType<typeof startS3>>;
  let s: Awaited<ReturnType<typeof startApp>>;
  let http: App['http'];
  let n = 0;

  beforeAll(async () => {
    s3 = await startS3();
    await s3.bucket(BUCKET);
    s = await startApp({ STORAGE_CHUNK_SIZE: String(CHUNK), MOVE_BANDWIDTH: '0', ...s3.env('PUBLIC', BUCKET) });
    http = s.app.http;
  });
  afterAll(async () => {
    await s?.stop();
    await s3?.stop();
  });

  async function dataset(): Promise<number> {
    const r = await request(http)
      .post('/api/datasets')
      .set(key)
      .send({ name: `s3-${++n}`, location: 'PUBLIC', tier: 'WARM' })
      .expect(201);
    return r.body.id as number;
  }
  async function upload(id: number, body: Buffer): Promise<void> {
    await request(http)
      .put(`/api/datasets/${id}/content`)
      .set(key)
      .set('content-type', 'application/octet-stream')
      .send(body)
      .expect(200);
  }
  function download(id: number, headers: Record<string, string> = {}): request.Test {
    return request(http).get(`/api/datasets/${id}/content`).set(headers).buffer(true).parse(binaryBody);
  }
  async function objectKeys(): Promise<string[]> {
    const r = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    return (r.Contents ?? []).map((o) => o.Key!).sort();
  }
  async function objectOf(id: number): Promise<{ key: string; bytes: Buffer }> {
    const d = (await request(http).get(`/api/datasets/${id}`).expect(200)).body;
    const k = `dim/WARM/${String(d.location_uri).split('/').pop()}.enc`;
    const o = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: k }));
    return { key: k, bytes: Buffer.from(await o.Body!.transformToByteArray()) };
  }

  test.each([0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * 1024 * 1024 + 17])(
    'when %i bytes are uploaded, then they download identical and only ciphertext is in the bucket',
    async (size) => {
      const id = await dataset();
      const data = crypto.randomBytes(size);
      await upload(id, data);
      const dl = await download(id).expect(200);
      expect(dl.headers.etag).toBe(`"${sha(data)}"`);
      expect(sha(dl.body as Buffer)).toBe(sha(data));
      const { bytes } = await objectOf(id);
      expect(bytes.subarray(0, 8).toString()).toBe('DIMENC01');
      if (size >= 64) expect(bytes.includes(data.subarray(0, 64))).toBe(false);
    },
  );

  test('when ranges are asked for, then exactly those bytes come back', async () => {
    const id = await dataset();
    const data = crypto.randomBytes(5 * CHUNK + 123);
    await upload(id, data);
    for (const [header, start, end] of [
      ['bytes=0-0', 0, 0],
      ['bytes=-100', data.length - 100, data.length - 1],
      [`bytes=${CHUNK - 3}-${2 * CHUNK + 5}`, CHUNK - 3, 2 * CHUNK + 5],
    ] as Array<[string, number, number]>) {
      const r = await download(id, { range: header }).expect(206);
      expect((r.body as Buffer).equals(data.subarray(start, end + 1))).toBe(true);
    }
  });

  test('when a byte of the stored object is changed, then the download is refused as damaged', async () => {
    const id = await dataset();
    await upload(id, crypto.randomBytes(3 * CHUNK));
    const { key: k, bytes } = await objectOf(id);
    bytes[bytes.length - 40]! ^= 1;
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: k, Body: bytes }));
    // The last chunk is the damaged one: the range that avoids it still reads.
    await download(id, { range: 'bytes=0-99' }).expect(206);
    const r = await request(http)
      .get(`/api/datasets/${id}/content`)
      .set('range', `bytes=${2 * CHUNK}-`);
    expect(r.status).toBeGreaterThanOrEqual(500);
  });

  test('when the stored object is cut short, then the download is refused as damaged before any byte', async () => {
    const id = await dataset();
    await upload(id, crypto.randomBytes(3 * CHUNK));
    const { key: k, bytes } = await objectOf(id);
    await s3.client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: k, Body: bytes.subarray(0, bytes.length - CHUNK) }),
    );
    const r = await request(http).get(`/api/datasets/${id}/content`);
    expect(r.status).toBe(500);
    expect(JSON.stringify(r.body)).toMatch(/truncated|damaged/i);
  });

  test('when content is replaced and the dataset deleted, then no object is left behind', async () => {
    const id = await dataset();
    const before = await objectKeys();
    await upload(id, crypto.randomBytes(100));
    await upload(id, crypto.randomBytes(200));
    expect((await objectKeys()).length).toBe(before.length + 1);
    await request(http).delete(`/api/datasets/${id}`).set(key).expect(204);
    expect(await objectKeys()).toEqual(before);
  });

  async function moveAndWait(id: number, body: Record<string, unknown>): Promise<Record<string, any>> {
    const m = await request(http).post(`/api/datasets/${id}/moves`).set(key).send(body).expect(202);
    return waitFor(async () => {
      const r = (await request(http).get(`/api/migrations/${m.body.id}`).expect(200)).body;
      return ['done', 'failed', 'cancelled'].includes(r.state) ? r : undefined;
    }, `move ${m.body.id} to finish`);
  }

  test('when a dataset changes tier inside S3, then the server copies it to the new key and class, one copy left', async () => {
    const id = await dataset();
    const data = crypto.randomBytes(3 * CHUNK + 5);
    await upload(id, data);
    const { key: warm } = await objectOf(id);
    expect(await moveAndWait(id, { tier: 'COLD', location: 'PUBLIC' })).toMatchObject({
      state: 'done',
      copy: 'server',
    });
    const keys = await objectKeys();
    expect(keys).not.toContain(warm);
    expect(keys).toContain(warm.replace('/WARM/', '/COLD/'));
    expect(sha((await download(id).expect(200)).body as Buffer)).toBe(sha(data));
  });

  test('when a dataset moves S3 -> file -> S3, then its bytes stream across, verified, one copy left each time', async () => {
    const id = await dataset();
    const data = crypto.randomBytes(5 * CHUNK + 77);
    await upload(id, data);
    const { key: before } = await objectOf(id);
    expect(await moveAndWait(id, { tier: 'HOT', location: 'ONPREM' })).toMatchObject({
      state: 'done',
      copy: 'streamed',
    });
    expect(await objectKeys()).not.toContain(before);
    expect(sha((await download(id).expect(200)).body as Buffer)).toBe(sha(data));
    expect(await moveAndWait(id, { tier: 'WARM', location: 'PUBLIC' })).toMatchObject({ state: 'done' });
    expect(await objectKeys()).toContain(before);
    expect(sha((await download(id, { range: `bytes=${CHUNK}-` }).expect(206)).body as Buffer)).toBe(
      sha(data.subarray(CHUNK)),
    );
  });

  test('when /readyz and /metrics are asked, then every store is probed and its calls counted', async () => {
    const r = await request(http).get('/readyz').expect(200);
    expect(r.body.checks).toMatchObject({ 'store.ONPREM': 'ok', 'store.PRIVATE': 'ok', 'store.PUBLIC': 'ok' });
    const m = await request(http).get('/metrics').expect(200);
    expect(m.text).toMatch(/dim_store_seconds_count\{[^}]*store="PUBLIC"[^}]*\} \d+/);
  });
});

describe('a store that cannot be reached', () => {
  test('when the bucket is missing, then /readyz fails naming that store', async () => {
    const s3 = await startS3();
    const s = await startApp(s3.env('PRIVATE', 'never-created'));
    try {
      const r = await waitFor(async () => {
        const x = await request(s.app.http).get('/readyz');
        return x.status === 503 ? x : undefined;
      }, '/readyz to fail');
      expect(r.body.checks['store.PRIVATE']).toMatch(/s3:\/\/never-created\/dim\/.*404|NotFound/);
      expect(r.body.checks['store.ONPREM']).toBe('ok');
    } finally {
      await s.stop();
      await s3.stop();
    }
  });
});

describe('the store panel', () => {
  test('when the overview and moves pages load their store panel, then each location shows its store and health', async () => {
    const s3 = await startS3();
    await s3.bucket('dim-panel');
    const web = await startWebApp(s3.env('PUBLIC', 'dim-panel'));
    try {
      const { cookie } = await signIn(web.base, web.admin.username, web.admin.password);
      for (const page of ['/', '/moves']) {
        const html = await (await fetch(`${web.base}${page}`, { headers: { cookie } })).text();
        expect(html).toContain('hx-get="/parts/stores"');
      }
      const panel = await (await fetch(`${web.base}/parts/stores`, { headers: { cookie } })).text();
      expect(panel).toMatch(/data-store="PUBLIC"[\s\S]*S3[\s\S]*s3:\/\/dim-panel\/dim\/[\s\S]*127\.0\.0\.1[\s\S]*ok/);
      expect(panel).toMatch(/data-store="ONPREM"[\s\S]*file/);
    } finally {
      await web.stop();
      await s3.stop();
    }
  });
});
