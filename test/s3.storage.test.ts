import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import request from 'supertest';
import type { App } from '../src/app';
import { API_KEY, DATABASES, startApp, waitFor } from './support/harness';
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

/** Where a stored object's ciphertext is, and how a test damages it, on each kind of store. */
interface StoreUnderTest {
  bytes(key: string): Promise<Buffer>;
  write(key: string, body: Buffer): Promise<void>;
}

// The content cases both stores must answer alike (the file store on SQLite and PostgreSQL, as
// storage.test.ts ran them before; the S3 store on a real s3rver): round trips at the chunk
// edges with only ciphertext stored, ranges, a flipped byte and a cut-short object.
describe.each(DATABASES.flatMap((database) => (['file', 's3'] as const).map((kind) => [kind, database] as const)))(
  'dataset content on a %s store, on %s',
  (kind, database) => {
    let s3: Awaited<ReturnType<typeof startS3>> | undefined;
    let s: Awaited<ReturnType<typeof startApp>>;
    let http: App['http'];
    let store: StoreUnderTest;
    let n = 0;

    beforeAll(async () => {
      const env: Record<string, string> = { STORAGE_CHUNK_SIZE: String(CHUNK), MOVE_BANDWIDTH: '0' };
      if (kind === 's3') {
        s3 = await startS3();
        Object.assign(env, s3.env('PUBLIC', await s3.bucket(`dim-content-${database}`)));
      }
      s = await startApp(env, undefined, { database });
      http = s.app.http;
      const server = s3;
      const bucket = `dim-content-${database}`;
      store = server
        ? {
            bytes: async (k) => {
              const o = await server.client.send(new GetObjectCommand({ Bucket: bucket, Key: `dim/${k}` }));
              return Buffer.from(await o.Body!.transformToByteArray());
            },
            write: async (k, body) => {
              await server.client.send(new PutObjectCommand({ Bucket: bucket, Key: `dim/${k}`, Body: body }));
            },
          }
        : {
            bytes: (k) => fs.promises.readFile(path.join(s.dir, 'tiers', 'PUBLIC', k)),
            write: (k, body) => fs.promises.writeFile(path.join(s.dir, 'tiers', 'PUBLIC', k), body),
          };
    });
    afterAll(async () => {
      await s?.stop();
      await s3?.stop();
    });

    async function dataset(): Promise<number> {
      const r = await request(http)
        .post('/api/datasets')
        .set(key)
        .send({ name: `c-${++n}`, location: 'PUBLIC', tier: 'WARM' })
        .expect(201);
      return r.body.id as number;
    }
    function upload(id: number, body: Buffer): request.Test {
      return request(http)
        .put(`/api/datasets/${id}/content`)
        .set(key)
        .set('content-type', 'application/octet-stream')
        .send(body)
        .expect(200);
    }
    function download(id: number, headers: Record<string, string> = {}): request.Test {
      return request(http).get(`/api/datasets/${id}/content`).set(headers).buffer(true).parse(binaryBody);
    }
    /** The object's key inside its store. */
    async function keyOf(id: number): Promise<string> {
      const d = (await request(http).get(`/api/datasets/${id}`).expect(200)).body;
      return `WARM/${String(d.location_uri).split('/').pop()}.enc`;
    }

    test.each([0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * 1024 * 1024 + 17])(
      'when %i bytes are uploaded, then they download identical, with their SHA-256 as ETag, and only ciphertext is stored',
      async (size) => {
        const id = await dataset();
        const data = crypto.randomBytes(size);
        const up = await upload(id, data);
        expect(up.body).toMatchObject({
          catalog_only: false,
          content: { bytes: size, sha256: sha(data) },
          uploaded: { bytes: size, sha256: sha(data) },
        });
        const dl = await download(id).expect(200);
        expect(dl.headers['content-length']).toBe(String(size));
        expect(dl.headers.etag).toBe(`"${sha(data)}"`);
        expect(sha(dl.body as Buffer)).toBe(sha(data));
        await request(http)
          .get(`/api/datasets/${id}/content`)
          .set('if-none-match', `"${sha(data)}"`)
          .expect(304);
        const stored = await store.bytes(await keyOf(id));
        expect(stored.subarray(0, 8).toString()).toBe('DIMENC01');
        if (size >= 64) expect(stored.includes(data.subarray(0, 64))).toBe(false);
      },
    );

    test('when ranges are asked for, then exactly those bytes come back', async () => {
      const id = await dataset();
      const data = crypto.randomBytes(5 * CHUNK + 123);
      await upload(id, data);
      for (const [header, start, end] of [
        ['bytes=0-0', 0, 0],
        ['bytes=10-', 10, data.length - 1],
        ['bytes=-100', data.length - 100, data.length - 1],
        [`bytes=${CHUNK - 3}-${2 * CHUNK + 5}`, CHUNK - 3, 2 * CHUNK + 5],
        [`bytes=100-${data.length + 1000}`, 100, data.length - 1],
      ] as Array<[string, number, number]>) {
        const r = await download(id, { range: header }).expect(206);
        expect(r.headers['content-range']).toBe(`bytes ${start}-${end}/${data.length}`);
        expect((r.body as Buffer).equals(data.subarray(start, end + 1))).toBe(true);
      }
      const bad = await request(http)
        .get(`/api/datasets/${id}/content`)
        .set('range', `bytes=${data.length}-`)
        .expect(416);
      expect(bad.headers['content-range']).toBe(`bytes */${data.length}`);
    });

    test('when a byte of the stored object is changed, then the download is refused as damaged', async () => {
      const id = await dataset();
      await upload(id, crypto.randomBytes(3 * CHUNK));
      const k = await keyOf(id);
      const bytes = await store.bytes(k);
      bytes[bytes.length - 40]! ^= 1;
      await store.write(k, bytes);
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
      const k = await keyOf(id);
      const bytes = await store.bytes(k);
      await store.write(k, bytes.subarray(0, bytes.length - CHUNK));
      const r = await request(http).get(`/api/datasets/${id}/content`);
      expect(r.status).toBe(500);
      expect(JSON.stringify(r.body)).toMatch(/truncated|damaged/i);
    });
  },
);

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
      // Each S3 tier's storage class (the suite's s3rver keeps COLD in ONEZONE_IA: no restore).
      expect(panel).toContain('data-tier="COLD">COLD ONEZONE_IA</span>');
    } finally {
      await web.stop();
      await s3.stop();
    }
  });
});
