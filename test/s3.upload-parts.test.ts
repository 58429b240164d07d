import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { ObjectBytes } from '../src/storage/crypto';
import { S3ObjectStore } from '../src/storage/stores/s3-object-store';
import { startS3 } from './support/s3-server';

const BUCKET = 'upload-parts';
const MIB = 1024 * 1024;
/** The store's parts: 8 MiB; its io ring: three of them. */
const PART = 8 * MIB;

/** An object's bytes all ready in a ring of shared memory, as the sealer would leave them (no crypto here). */
function readyBytes(content: Buffer, ringBytes: number): ObjectBytes & { failure: Error | undefined } {
  const io = Buffer.from(new SharedArrayBuffer(ringBytes));
  content.copy(io);
  return {
    io,
    ready: content.length,
    total: content.length,
    failure: undefined,
    more: () => Promise.resolve(),
    release: () => undefined,
    md5: (from, len) =>
      Promise.resolve(
        crypto
          .createHash('md5')
          .update(io.subarray(from, from + len))
          .digest(),
      ),
    fail(err) {
      this.failure ??= err;
    },
  };
}

type Fault = 'slow' | 'drop' | 'flip';

/** A proxy before s3rver that hands out `faults` to UploadPart requests, one each, in order. */
async function faultyProxy(endpoint: string, faults: Fault[], seen: string[]): Promise<http.Server> {
  const target = new URL(endpoint);
  const forward = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void => {
    const up = http.request(
      { hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    up.end(body);
  };
  const proxy = http.createServer((req, res) => {
    const isPart = req.method === 'PUT' && /[?&]partNumber=/.test(req.url ?? '');
    if (isPart)
      seen.push(`${String(req.headers['x-amz-content-sha256'])} md5:${req.headers['content-md5'] !== undefined}`);
    // s3rver has no AbortMultipartUpload (it answers MethodNotAllowed): the ask is what is checked.
    if (req.method === 'DELETE' && /[?&]uploadId=/.test(req.url ?? '')) seen.push('abort');
    const fault = isPart ? faults.shift() : undefined;
    if (fault) seen.push(fault);
    if (fault === 'drop') return req.socket.destroy();
    const parts: Buffer[] = [];
    req.on('data', (b: Buffer) => parts.push(b));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      if (fault === 'slow') {
        res.writeHead(503, { 'content-type': 'application/xml' });
        return res.end('<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
      }
      if (fault === 'flip') body[body.length >> 1]! ^= 1;
      forward(req, res, body);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return proxy;
}

/**
 * An upload's parts are signed on the main thread and sent by an AES-GCM worker straight from
 * shared memory: these pin what that path keeps from the SDK's own UploadPart (retries on
 * SlowDown and dropped connections, Content-MD5, the ETags for the completion, the store's
 * errors, the abort).
 */
describe('S3 parts sent by the worker itself (signed UploadPart)', () => {
  let s3: Awaited<ReturnType<typeof startS3>>;
  const spec = {
    kind: 's3' as const,
    location: 'PUBLIC' as const,
    bucket: BUCKET,
    prefix: 'p/',
    endpoint: '',
    region: 'us-east-1',
    pathStyle: true,
    classes: { HOT: 'STANDARD', WARM: 'STANDARD', COLD: 'STANDARD' },
    shared: true as const,
  };
  /** Two and a half parts: part 2 goes while the object is written, parts 1 and 3 at its finish. */
  const content = crypto.randomBytes(2 * PART + 3 * MIB + 17);

  beforeAll(async () => {
    s3 = await startS3();
    await s3.bucket(BUCKET);
    spec.endpoint = s3.endpoint;
  });
  afterAll(async () => {
    await s3?.stop();
  });

  async function stored(key: string): Promise<Buffer> {
    const o = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: `p/${key}` }));
    return Buffer.from(await o.Body!.transformToByteArray());
  }

  async function through(faults: Fault[], run: (store: S3ObjectStore, seen: string[]) => Promise<void>) {
    const seen: string[] = [];
    const proxy = await faultyProxy(s3.endpoint, faults, seen);
    try {
      const { port } = proxy.address() as AddressInfo;
      await run(new S3ObjectStore({ ...spec, endpoint: `http://127.0.0.1:${port}` }), seen);
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  }

  it('when an object is written, then it is stored byte for byte and no part’s bytes went through the SDK', async () => {
    let sdkPartBytes = 0;
    const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true });
    client.middlewareStack.add(
      (next, context) => (args) => {
        const body = (args.input as { Body?: Buffer }).Body;
        if (context.commandName === 'UploadPartCommand') sdkPartBytes += body?.length ?? 0;
        return next(args);
      },
      { step: 'initialize', name: 'countPartBodies' },
    );
    const store = new S3ObjectStore(spec, client);
    const write = store.write('whole.enc', 'HOT', readyBytes(content, store.ringBytes));
    expect(await write.finish()).toEqual({ size: content.length });
    expect((await stored('whole.enc')).equals(content)).toBe(true);
    // The SDK signed the three parts; their bytes went from the ring to the socket on the worker.
    expect(sdkPartBytes).toBe(0);
    client.destroy();
  });

  it('when the store answers 503 SlowDown or drops the connection, then the worker sends the part again and the object is whole', async () => {
    await through(['slow', 'drop'], async (store, seen) => {
      const write = store.write('retried.enc', 'HOT', readyBytes(content, store.ringBytes));
      expect(await write.finish()).toEqual({ size: content.length });
      expect(seen.filter((s) => s === 'slow' || s === 'drop')).toEqual(['slow', 'drop']);
      // Every part went UNSIGNED-PAYLOAD with its Content-MD5 signed in: three parts, two of them sent again.
      expect(seen.filter((s) => s.startsWith('UNSIGNED-PAYLOAD md5:true')).length).toBe(5);
    });
    expect((await stored('retried.enc')).equals(content)).toBe(true);
  });

  it('when the store refuses a part three times, then the write fails with its S3 code and status, and its abort is asked', async () => {
    await through(['slow', 'slow', 'slow'], async (store, seen) => {
      const bytes = readyBytes(content, store.ringBytes);
      const write = store.write('refused.enc', 'HOT', bytes);
      await expect(write.finish()).rejects.toMatchObject({ name: 'SlowDown', $metadata: { httpStatusCode: 503 } });
      await write.abort().catch(() => undefined);
      expect(seen.filter((s) => s === 'slow' || s === 'abort')).toEqual(['slow', 'slow', 'slow', 'abort']);
    });
    await expect(s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'p/refused.enc' }))).rejects.toThrow();
  });

  // s3rver does not check Content-MD5 (AWS, MinIO and Ceph do): the part's ETag, compared with its MD5, catches it here.
  it('when a part’s bytes change on the way, then the write fails and no object is made', async () => {
    await through(['flip'], async (store) => {
      const write = store.write('flipped.enc', 'HOT', readyBytes(content, store.ringBytes));
      await expect(write.finish()).rejects.toThrow(/verification failed: the store's MD5 of part 2/);
      await write.abort().catch(() => undefined);
    });
    await expect(s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'p/flipped.enc' }))).rejects.toThrow();
  });
});
