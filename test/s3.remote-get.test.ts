import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Registry } from '../src/platform';
import { createEncryptStream, DecryptedStream, fetchToFile, type RangeSource } from '../src/storage/crypto';
import { MissingObject, ObjectStores, type StoreSpecs } from '../src/storage/stores';
import { S3ObjectStore } from '../src/storage/stores/s3-object-store';
import { tempDir } from './support/harness';
import { startS3 } from './support/s3-server';

const BUCKET = 'remote-get';
const CHUNK = 64 * 1024;

async function seal(dek: Buffer, plain: Buffer): Promise<Buffer> {
  const parts: Buffer[] = [];
  const out = new PassThrough();
  out.on('data', (b: Buffer) => parts.push(b));
  await pipeline(Readable.from([plain]), createEncryptStream(dek, { chunkSize: CHUNK }), out);
  return Buffer.concat(parts);
}

async function collect(body: { sendTo(out: PassThrough): Promise<void> }): Promise<Buffer> {
  const out = new PassThrough();
  const parts: Buffer[] = [];
  out.on('data', (b: Buffer) => parts.push(b));
  await body.sendTo(out);
  return Buffer.concat(parts);
}

/**
 * An S3 download's bulk GET is signed on the main thread and sent by the AES-GCM worker, which
 * reads the response and opens each chunk as it arrives: these pin what that path must keep from
 * the SDK's own GET (bytes, ranges, damage, the store's errors and metrics).
 */
describe('a download read by the worker itself (signed GET)', () => {
  let s3: Awaited<ReturnType<typeof startS3>>;
  let store: S3ObjectStore;
  const dek = crypto.randomBytes(32);
  const plain = crypto.randomBytes(5 * CHUNK + 1234);
  let sealed: Buffer;
  /** Bytes the main thread read with the SDK's GET (the header only, if the worker reads the rest). */
  let mainThreadBytes = 0;

  const spec = {
    kind: 's3' as const,
    location: 'PUBLIC' as const,
    bucket: BUCKET,
    prefix: 'x/',
    endpoint: '',
    region: 'us-east-1',
    pathStyle: true,
    classes: { HOT: 'STANDARD', WARM: 'STANDARD', COLD: 'STANDARD' },
    shared: true as const,
  };

  async function put(key: string, body: Buffer): Promise<void> {
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `x/${key}`, Body: body }));
  }

  /** The object at `key` as the download reads it, the worker's GET going to `remoteKey`. */
  function source(s: S3ObjectStore, key: string, size: number, remoteKey = key): RangeSource {
    return {
      size,
      read: async (start, end) => {
        mainThreadBytes += end - start + 1;
        return s.get(key, { start, end });
      },
      remote: (start, end) => s.remoteGet(remoteKey, { start, end }),
    };
  }

  beforeAll(async () => {
    s3 = await startS3();
    await s3.bucket(BUCKET);
    spec.endpoint = s3.endpoint;
    store = new S3ObjectStore(spec);
    sealed = await seal(dek, plain);
    await put('whole.enc', sealed);
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it('when an object is read whole and in ranges, then the bytes match and only its header passed the main thread', async () => {
    mainThreadBytes = 0;
    const whole = await DecryptedStream.open(source(store, 'whole.enc', sealed.length), dek);
    expect((await collect(whole)).equals(plain)).toBe(true);
    for (const [start, end] of [
      [0, 0],
      [CHUNK - 1, CHUNK],
      [CHUNK + 5, 4 * CHUNK + 17],
      [plain.length - 3, plain.length - 1],
    ] as const) {
      const part = await DecryptedStream.open(source(store, 'whole.enc', sealed.length), dek, { start, end });
      expect((await collect(part)).equals(plain.subarray(start, end + 1))).toBe(true);
    }
    // Five reads of the header and label (4 KiB each), none of the chunks.
    expect(mainThreadBytes).toBeLessThanOrEqual(5 * 4096);
  });

  it('when a byte of a chunk is changed, then the read fails naming that chunk, and nothing of it is sent', async () => {
    const bad = Buffer.from(sealed);
    bad[bad.length - 2 * CHUNK]! ^= 1;
    await put('bad.enc', bad);
    const body = await DecryptedStream.open(source(store, 'bad.enc', bad.length), dek);
    const out = new PassThrough();
    const got: Buffer[] = [];
    out.on('data', (b: Buffer) => got.push(b));
    await expect(body.sendTo(out)).rejects.toThrow(/chunk 3 failed authentication/);
    expect(Buffer.concat(got).equals(plain.subarray(0, Buffer.concat(got).length))).toBe(true);
    expect(Buffer.concat(got).length).toBeLessThanOrEqual(3 * CHUNK);
  });

  it('when the response ends short of the object, then the read fails as truncated', async () => {
    await put('short.enc', sealed.subarray(0, sealed.length - 100));
    const body = await DecryptedStream.open(source(store, 'whole.enc', sealed.length, 'short.enc'), dek);
    await expect(collect(body)).rejects.toMatchObject({ code: 'TRUNCATED' });
  });

  it('when the object is gone by the time the worker reads it, then the read fails as the store’s missing object', async () => {
    await put('gone.enc', sealed);
    const body = await DecryptedStream.open(source(store, 'gone.enc', sealed.length), dek);
    await s3.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'x/gone.enc' }));
    await expect(collect(body)).rejects.toBeInstanceOf(MissingObject);
  });

  it('when the server refuses the signature, then the error carries its S3 code and status, as the SDK’s would', async () => {
    const wrong = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'NOBODY', secretAccessKey: 'not-the-secret' },
    });
    const denied = new S3ObjectStore(spec, wrong);
    const src: RangeSource = {
      ...source(store, 'whole.enc', sealed.length),
      remote: (s, e) => denied.remoteGet('whole.enc', { start: s, end: e }),
    };
    const body = await DecryptedStream.open(src, dek);
    await expect(collect(body)).rejects.toMatchObject({
      name: 'InvalidAccessKeyId',
      $metadata: { httpStatusCode: 403 },
    });
    wrong.destroy();
  });

  it('when the store first answers 503 SlowDown or drops the connection, then the worker sends the GET again, as the SDK would, and the bytes arrive whole', async () => {
    // A proxy before s3rver that refuses the first worker GETs of the object (Range past the header).
    const faults: ('slow' | 'drop')[] = ['slow', 'drop'];
    const seen: string[] = [];
    const target = new URL(s3.endpoint);
    const proxy = http.createServer((req, res) => {
      const fault = req.headers.range && !req.headers.range.startsWith('bytes=0-') ? faults.shift() : undefined;
      if (fault) seen.push(fault);
      if (fault === 'drop') return req.socket.destroy();
      if (fault === 'slow') {
        res.writeHead(503, { 'content-type': 'application/xml' });
        return res.end('<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
      }
      const up = http.request(
        { hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(up);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = proxy.address() as AddressInfo;
      const flaky = new S3ObjectStore({ ...spec, endpoint: `http://127.0.0.1:${port}` });
      const body = await DecryptedStream.open(source(flaky, 'whole.enc', sealed.length), dek, {
        start: CHUNK + 5,
        end: plain.length - 1,
      });
      expect((await collect(body)).equals(plain.subarray(CHUNK + 5))).toBe(true);
      expect(seen).toEqual(['slow', 'drop']);
      // Three faults in a row: the third answer is the read's, and its error is the store's.
      faults.push('slow', 'slow', 'slow');
      const refused = await DecryptedStream.open(source(flaky, 'whole.enc', sealed.length), dek, {
        start: CHUNK + 5,
        end: plain.length - 1,
      });
      await expect(collect(refused)).rejects.toMatchObject({ name: 'SlowDown', $metadata: { httpStatusCode: 503 } });
      expect(faults).toEqual([]);
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('when the worker reads a GET, then the store’s metrics count it as a get, failures as errors', async () => {
    const specs = {
      ONPREM: { kind: 'file', location: 'ONPREM', root: undefined, shared: false },
      PRIVATE: { kind: 'file', location: 'PRIVATE', root: undefined, shared: false },
      PUBLIC: spec,
    } as unknown as StoreSpecs;
    const stores = await ObjectStores.open(specs, tempDir('dim-remote-'));
    const registry = new Registry();
    stores.register(registry);
    const s = stores.of('PUBLIC');
    const read = (key: string): RangeSource => ({
      size: sealed.length,
      read: (a, b) => s.get('whole.enc', { start: a, end: b }),
      remote: (a, b) => s.remoteGet!(key, { start: a, end: b }),
    });
    expect((await collect(await DecryptedStream.open(read('whole.enc'), dek))).equals(plain)).toBe(true);
    await expect(collect(await DecryptedStream.open(read('nothing.enc'), dek))).rejects.toBeInstanceOf(MissingObject);
    const text = await registry.scrape();
    // Two header reads by the SDK and two worker GETs.
    expect(text).toMatch(/dim_store_seconds_count\{store="PUBLIC",op="get"\} 4/);
    expect(text).toMatch(/dim_store_errors_total\{store="PUBLIC",op="get"\} 1/);
  });

  describe('a move into a file, read and written by the worker', () => {
    const dir = tempDir('dim-fetch-file-');
    let n = 0;

    async function copy(src: RangeSource, gate = async (_bytes: number): Promise<void> => {}) {
      const file = path.join(dir, `copy-${++n}`);
      const fh = await fsp.open(file, 'wx', 0o600);
      const progress: number[] = [];
      let gated = 0;
      try {
        const result = await fetchToFile({
          dek,
          src,
          file: fh,
          gate: async (bytes) => {
            gated += bytes;
            await gate(bytes);
          },
          landed: async (bytes) => void progress.push(bytes),
        });
        return { file, result, progress, gated };
      } finally {
        await fh.close();
      }
    }

    it('when an object is copied, then the file is the object byte for byte, paced and reported to its size', async () => {
      mainThreadBytes = 0;
      const { file, result, progress, gated } = await copy(source(store, 'whole.enc', sealed.length));
      expect(fs.readFileSync(file).equals(sealed)).toBe(true);
      expect(result).toMatchObject({ plaintextSize: plain.length, written: sealed.length, label: undefined });
      expect(progress.at(-1)).toBe(sealed.length);
      expect([...progress].sort((a, b) => a - b)).toEqual(progress);
      // Every chunk went through the gate (the bandwidth limit); the header came by the main thread's small GET.
      expect(gated + mainThreadBytes).toBeGreaterThanOrEqual(sealed.length);
      expect(mainThreadBytes).toBeLessThanOrEqual(4096);
    });

    it('when a chunk is changed or the response ends short, then the copy fails as damage naming it', async () => {
      const bad = Buffer.from(sealed);
      bad[bad.length - 2 * CHUNK]! ^= 1;
      await put('bad-copy.enc', bad);
      await expect(copy(source(store, 'bad-copy.enc', bad.length))).rejects.toThrow(/chunk 3 failed authentication/);
      await put('short-copy.enc', sealed.subarray(0, sealed.length - 100));
      await expect(copy(source(store, 'whole.enc', sealed.length, 'short-copy.enc'))).rejects.toMatchObject({
        code: 'TRUNCATED',
      });
    });

    it('when the gate refuses midway (a cancelled move), then the copy stops with that error', async () => {
      let chunks = 0;
      const gate = async (): Promise<void> => {
        if (++chunks === 3) throw new Error('cancelled');
      };
      await expect(copy(source(store, 'whole.enc', sealed.length), gate)).rejects.toThrow('cancelled');
      // The worker let go: the next copy runs whole.
      const { file } = await copy(source(store, 'whole.enc', sealed.length));
      expect(fs.readFileSync(file).equals(sealed)).toBe(true);
    });
  });
});
