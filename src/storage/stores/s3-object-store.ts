import crypto from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  RestoreObjectCommand,
  S3Client,
  type StorageClass,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Location, Tier } from '../../db';
import type { ObjectBytes, RemoteRead } from '../crypto';
import {
  MissingObject,
  type ListedObject,
  type ObjectHead,
  type ObjectStore,
  type StoreDescription,
} from './object-store';
import { restoreHours } from './classes';
import { type ObjectWrite, PartUpload } from './s3-parts';
import { signedGet } from './s3-signed-get';
import type { StoreSpec } from './spec';

type S3Spec = Extract<StoreSpec, { kind: 's3' }>;

/** Multipart parts: 8 MiB, two in flight, so an upload holds about 16 MiB whatever its size. */
const PART_BYTES = 8 * 1024 * 1024;
const QUEUE = 2;
/** CopyObject takes up to 5 GiB; past that the copy goes in parts of this size (UploadPartCopy). */
const COPY_LIMIT = 5 * 1024 ** 3;
const COPY_PART = 512 * 1024 * 1024;

/**
 * A location's objects in an S3 bucket (AWS, or a compatible server at an endpoint) under
 * `<prefix><tier>/<object id>.enc`. Credentials come from the SDK's default provider chain.
 */
export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3' as const;
  readonly location: Location;
  private readonly client: S3Client;

  constructor(
    private readonly spec: S3Spec,
    client?: S3Client,
  ) {
    this.location = spec.location;
    this.client =
      client ??
      new S3Client({
        region: spec.region,
        ...(spec.endpoint ? { endpoint: spec.endpoint } : {}),
        forcePathStyle: spec.pathStyle,
        // Only where an operation requires one: compatible servers differ in the checksums they know.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
  }

  describe(): StoreDescription {
    const { location, bucket, prefix, endpoint } = this.spec;
    return { location, kind: 's3', where: `s3://${bucket}/${prefix}`, endpoint: endpoint ?? 'AWS', shared: true };
  }

  storageClass(tier: Tier): string {
    return this.spec.classes[tier];
  }

  private full(key: string): string {
    return this.spec.prefix + key;
  }

  async put(key: string, body: Readable, tier: Tier): Promise<{ size: number; sha256: string }> {
    const hash = crypto.createHash('sha256');
    let size = 0;
    const counted = new PassThrough({ highWaterMark: 1024 * 1024 });
    body.on('data', (piece: Buffer) => {
      size += piece.length;
      hash.update(piece);
    });
    body.once('error', (err) => counted.destroy(err));
    body.pipe(counted);
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.spec.bucket,
        Key: this.full(key),
        Body: counted,
        StorageClass: this.storageClass(tier) as StorageClass,
      },
      partSize: PART_BYTES,
      queueSize: QUEUE,
      leavePartsOnError: false,
    });
    await upload.done();
    return { size, sha256: hash.digest('hex') };
  }

  /** Parts in flight, plus the one being filled. */
  readonly ringBytes = (QUEUE + 1) * PART_BYTES;

  write(key: string, tier: Tier, bytes: ObjectBytes): ObjectWrite {
    const { client } = this;
    const { bucket } = this.spec;
    const target = { client, bucket, key: this.full(key), storageClass: this.storageClass(tier) };
    return new PartUpload({ ...target, partBytes: PART_BYTES, queue: QUEUE }, bytes);
  }

  async get(key: string, range?: { start: number; end: number }): Promise<Readable> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.spec.bucket,
          Key: this.full(key),
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      return out.Body as Readable;
    } catch (err) {
      if (isMissing(err)) throw new MissingObject(key);
      throw err;
    }
  }

  /** The same GET, signed here for a worker to send (s3-signed-get.ts); a 404 comes back as `MissingObject`. */
  async remoteGet(key: string, range?: { start: number; end: number }): Promise<RemoteRead> {
    const request = await signedGet(this.client, this.spec.bucket, this.full(key), range);
    return {
      request,
      settled: () => undefined,
      error: (err) => (isMissing(err) ? new MissingObject(key) : err),
    };
  }

  async head(key: string): Promise<ObjectHead | undefined> {
    try {
      const h = await this.client.send(new HeadObjectCommand({ Bucket: this.spec.bucket, Key: this.full(key) }));
      return {
        size: h.ContentLength ?? 0,
        etag: h.ETag ?? '',
        storageClass: h.StorageClass ?? 'STANDARD',
        opaqueEtag: !!h.SSECustomerAlgorithm || (h.ServerSideEncryption ?? '').startsWith('aws:kms'),
        ...(h.Restore ? { restore: parseRestore(h.Restore) } : {}),
      };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<boolean> {
    const there = (await this.head(key)) !== undefined;
    await this.client.send(new DeleteObjectCommand({ Bucket: this.spec.bucket, Key: this.full(key) }));
    return there;
  }

  async *list(prefix = ''): AsyncIterable<ListedObject> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.spec.bucket, Prefix: this.full(prefix), ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key?.startsWith(this.spec.prefix))
          yield { key: o.Key.slice(this.spec.prefix.length), size: o.Size ?? 0, modifiedAt: o.LastModified?.getTime() };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Server-side: CopyObject, or UploadPartCopy in parts past 5 GiB. */
  async copy(from: string, to: string, tier: Tier): Promise<{ etag: string | undefined; multipart: boolean }> {
    const head = await this.head(from);
    if (!head) throw new MissingObject(from);
    const Bucket = this.spec.bucket;
    const CopySource = encodeURI(`${Bucket}/${this.full(from)}`);
    const StorageClass = this.storageClass(tier) as StorageClass;
    if (head.size <= COPY_LIMIT) {
      const r = await this.client.send(new CopyObjectCommand({ Bucket, Key: this.full(to), CopySource, StorageClass }));
      return { etag: r.CopyObjectResult?.ETag, multipart: false };
    }
    const { UploadId } = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket, Key: this.full(to), StorageClass }),
    );
    try {
      const Parts = [];
      for (let start = 0, n = 1; start < head.size; start += COPY_PART, n++) {
        const end = Math.min(head.size, start + COPY_PART) - 1;
        const part = await this.client.send(
          new UploadPartCopyCommand({
            Bucket,
            Key: this.full(to),
            UploadId,
            PartNumber: n,
            CopySource,
            CopySourceRange: `bytes=${start}-${end}`,
          }),
        );
        Parts.push({ PartNumber: n, ETag: part.CopyPartResult?.ETag });
      }
      const r = await this.client.send(
        new CompleteMultipartUploadCommand({ Bucket, Key: this.full(to), UploadId, MultipartUpload: { Parts } }),
      );
      return { etag: r.ETag, multipart: true };
    } catch (err) {
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket, Key: this.full(to), UploadId }))
        .catch(() => undefined);
      throw err;
    }
  }

  /**
   * A listing of no keys under the prefix: it needs the bucket and the right to list it, as a
   * HeadBucket does, and costs the server nothing whatever it holds. (s3rver answers a HeadBucket
   * as a listing: it reads every object's metadata and hashes any object still being written, a
   * full read of it, at every probe, and /readyz and the alerts probe every few seconds.)
   */
  async probe(): Promise<void> {
    await this.client.send(
      new ListObjectsV2Command({ Bucket: this.spec.bucket, Prefix: this.spec.prefix, MaxKeys: 0 }),
    );
  }

  /**
   * Aborts this store's multipart uploads started more than `olderThanMs` ago (left by a crash:
   * nothing finishes them). Undefined where the server has no ListMultipartUploads (s3rver).
   */
  async abortAbandoned(olderThanMs: number): Promise<number | undefined> {
    const Bucket = this.spec.bucket;
    let aborted = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListMultipartUploadsCommand({
            Bucket,
            Prefix: this.spec.prefix,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
        );
      } catch (err) {
        if ((err as { name?: string }).name === 'NotImplemented') return undefined;
        throw err;
      }
      for (const u of page.Uploads ?? []) {
        if (!u.Key || !u.UploadId || (u.Initiated && Date.now() - u.Initiated.getTime() < olderThanMs)) continue;
        await this.client.send(new AbortMultipartUploadCommand({ Bucket, Key: u.Key, UploadId: u.UploadId }));
        aborted++;
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
    return aborted;
  }

  /** Starts a restore (a copy for `days`, Standard retrieval) unless one runs; resolves with when it should be ready. */
  async restore(key: string, days = 1): Promise<{ readyAt: number }> {
    const head = await this.head(key);
    if (!head) throw new MissingObject(key);
    const hours = restoreHours(head.storageClass);
    if (!head.restore) {
      try {
        await this.client.send(
          new RestoreObjectCommand({
            Bucket: this.spec.bucket,
            Key: this.full(key),
            RestoreRequest: { Days: days, GlacierJobParameters: { Tier: 'Standard' } },
          }),
        );
      } catch (err) {
        // Another reader started it first.
        if ((err as { name?: string }).name !== 'RestoreAlreadyInProgress') throw err;
      }
    }
    return { readyAt: Date.now() + hours * 3_600_000 };
  }
}

/** `ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"` */
export function parseRestore(header: string): { ongoing: boolean; expiresAt: number | undefined } {
  const ongoing = /ongoing-request="true"/.test(header);
  const m = /expiry-date="([^"]+)"/.exec(header);
  const expiresAt = m ? Date.parse(m[1]!) : undefined;
  return { ongoing, expiresAt: Number.isFinite(expiresAt) ? expiresAt : undefined };
}

function isMissing(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}
