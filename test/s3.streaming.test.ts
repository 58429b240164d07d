import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import request from 'supertest';
import type { App } from '../src/app';
import { API_KEY, startApp, waitFor } from './support/harness';
import { binaryBody } from './support/http-client';
import { startS3 } from './support/s3-server';

const key = { 'x-api-key': API_KEY };
const BUCKET = 'dim-stream';
const MIB = 1024 * 1024;
const sha = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');

/** Every file s3rver keeps for unfinished multipart uploads. */
function unfinishedUploads(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, inUploads: boolean): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p, inUploads || e.name.endsWith('_S3rver_uploads'));
      else if (inUploads) out.push(p);
    }
  };
  walk(dir, false);
  return out;
}

/**
 * Objects larger than one part (8 MiB) on an S3 store: the upload is sealed straight into a
 * streamed multipart write, downloads and moves stream through the AES-GCM workers, and nothing
 * partial is ever readable.
 */
describe('streamed multipart objects on an S3 store', () => {
  let s3: Awaited<ReturnType<typeof startS3>>;
  let s: Awaited<ReturnType<typeof startApp>>;
  let app: App['http'];
  let n = 0;

  beforeAll(async () => {
    s3 = await startS3();
    await s3.bucket(BUCKET);
    s = await startApp({ MOVE_BANDWIDTH: '0', ...s3.env('PUBLIC', BUCKET) });
    app = s.app.http;
  });
  afterAll(async () => {
    await s?.stop();
    await s3?.stop();
  });

  async function dataset(): Promise<number> {
    const r = await request(app)
      .post('/api/datasets')
      .set(key)
      .send({ name: `stream-${++n}`, location: 'PUBLIC', tier: 'WARM' })
      .expect(201);
    return r.body.id as number;
  }
  async function objectKeys(): Promise<string[]> {
    const r = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    return (r.Contents ?? []).map((o) => o.Key!).sort();
  }
  function download(id: number, headers: Record<string, string> = {}): request.Test {
    return request(app).get(`/api/datasets/${id}/content`).set(headers).buffer(true).parse(binaryBody);
  }
  async function moveAndWait(id: number, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const m = await request(app).post(`/api/datasets/${id}/moves`).set(key).send(body).expect(202);
    return waitFor(async () => {
      const r = (await request(app).get(`/api/migrations/${m.body.id}`).expect(200)).body as Record<string, unknown>;
      return ['done', 'failed', 'cancelled'].includes(r.state as string) ? r : undefined;
    }, `move ${m.body.id} to finish`);
  }

  test('when 20 MiB are uploaded, moved S3 -> file -> S3, then every step reads back identical, one object, no upload left', async () => {
    const id = await dataset();
    const data = crypto.randomBytes(Number(process.env.T_MIB ?? 20) * MIB + 5);
    await request(app).put(`/api/datasets/${id}/content`).set(key).send(data).expect(200);
    const keys = await objectKeys();
    expect(keys).toHaveLength(1);
    const stored = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: keys[0] }));
    const bytes = Buffer.from(await stored.Body!.transformToByteArray());
    expect(bytes.subarray(0, 8).toString()).toBe('DIMENC01');
    expect(bytes.includes(data.subarray(9 * MIB, 9 * MIB + 64))).toBe(false);
    expect(sha((await download(id).expect(200)).body as Buffer)).toBe(sha(data));
    const range = await download(id, { range: `bytes=${8 * MIB - 3}-${16 * MIB + 2}` }).expect(206);
    expect(sha(range.body as Buffer)).toBe(sha(data.subarray(8 * MIB - 3, 16 * MIB + 3)));

    expect(await moveAndWait(id, { tier: 'HOT', location: 'ONPREM' })).toMatchObject({
      state: 'done',
      copy: 'streamed',
    });
    expect(await objectKeys()).toEqual([]);
    expect(sha((await download(id).expect(200)).body as Buffer)).toBe(sha(data));
    expect(await moveAndWait(id, { tier: 'COLD', location: 'PUBLIC' })).toMatchObject({
      error: null,
      state: 'done',
      copy: 'streamed',
    });
    expect(await objectKeys()).toHaveLength(1);
    expect(sha((await download(id).expect(200)).body as Buffer)).toBe(sha(data));
    expect(await moveAndWait(id, { tier: 'HOT', location: 'PUBLIC' })).toMatchObject({ state: 'done', copy: 'server' });
    expect(sha((await download(id).expect(200)).body as Buffer)).toBe(sha(data));
    expect(unfinishedUploads(s3.dir)).toEqual([]);
  });

  test('when an upload is cut off mid-stream, then no object is readable and the dataset keeps no content', async () => {
    const id = await dataset();
    const server = http.createServer(app).listen(0, '127.0.0.1');
    try {
      await new Promise((r) => server.once('listening', r));
      const { port } = server.address() as AddressInfo;
      const req = http.request({
        port,
        host: '127.0.0.1',
        method: 'PUT',
        path: `/api/datasets/${id}/content`,
        headers: { ...key, 'content-type': 'application/octet-stream', 'content-length': String(40 * MIB) },
      });
      req.on('error', () => undefined);
      const piece = crypto.randomBytes(MIB);
      for (let i = 0; i < 20; i++) if (!req.write(piece)) await new Promise((r) => req.once('drain', r));
      // Past the first parts: some were sent to the store before the body stopped.
      await waitFor(async () => unfinishedUploads(s3.dir).length > 0 || undefined, 'parts to reach the store');
      req.destroy();
      // The product asks the server to abort the multipart upload (and start-up aborts any a crash
      // left, where the server lists them). s3rver has no AbortMultipartUpload nor a listing: its
      // parts stay in its own folder, which is why this test does not check that they went.
      await waitFor(async () => {
        const r = await request(app).get(`/api/datasets/${id}/content`).set(key);
        return r.status === 404 || undefined;
      }, 'the upload to end');
    } finally {
      server.close();
    }
    // The object appears only once complete: nothing partial is readable under the prefix.
    expect((await objectKeys()).filter((k) => k.includes('/WARM/'))).toEqual([]);
    expect((await request(app).get(`/api/datasets/${id}`).set(key).expect(200)).body).toMatchObject({
      catalog_only: true,
      content: null,
    });
  });

  test('when a byte of an S3 source is changed, then a move out fails as damage and leaves no copy', async () => {
    const id = await dataset();
    const data = crypto.randomBytes(10 * MIB);
    await request(app).put(`/api/datasets/${id}/content`).set(key).send(data).expect(200);
    const [k] = (await objectKeys()).filter((x) => x.includes('/WARM/'));
    const o = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: k }));
    const bytes = Buffer.from(await o.Body!.transformToByteArray());
    bytes[9 * MIB] = bytes[9 * MIB]! ^ 1;
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: k, Body: bytes }));
    const m = await moveAndWait(id, { tier: 'HOT', location: 'ONPREM' });
    expect(m).toMatchObject({ state: 'failed' });
    expect(String(m.error)).toMatch(/source failed verification/);
    expect(await objectKeys()).toContain(k);
    const d = (await request(app).get(`/api/datasets/${id}`).set(key).expect(200)).body;
    expect(d).toMatchObject({ location: 'PUBLIC', tier: 'WARM' });
  });
});
