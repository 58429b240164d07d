import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  type StorageClass,
} from '@aws-sdk/client-s3';
import crypto from 'node:crypto';
import { type ObjectBytes, PartSender, giveBackRing, takeRing } from '../crypto';
import { signedUploadPart } from './s3-signed-put';

/** A streamed write into an object store: the object appears, whole and checked, only at `finish`. */
export interface ObjectWrite {
  /**
   * Writes the rest with `patch` applied to the first part (the label, known last) and makes the
   * object: resolves with its size once the store holds every byte as sent.
   */
  finish(patch?: { at: number; bytes: Buffer }): Promise<{ size: number }>;
  /** Gives up; nothing readable is left under the key (an unfinished multipart upload is aborted). */
  abort(): Promise<void>;
}

export interface PartTarget {
  client: S3Client;
  bucket: string;
  key: string;
  storageClass: string;
  partBytes: number;
  /** Parts sent at once. */
  queue: number;
}

interface Sent {
  PartNumber: number;
  ETag: string;
  md5: Buffer;
}

/**
 * The S3 side of a streamed write: part n (n ≥ 2) is sent as soon as its bytes are ready, `queue`
 * at a time, straight from the ring (no copy); the ring's room is released in order as parts land.
 * Part 1 is copied out and held until `finish`, which patches it (the label), sends it and
 * completes the upload. It is held in a spare ring of the workers' pool and goes back there once
 * sent, for the next transfer's ring of that size (a download's io ring is one part): not a new
 * 8 MiB buffer per upload, left for a collection of the whole heap to free. An object no larger
 * than a part is one PutObject at `finish`.
 *
 * Each part is signed here with the SDK's own middleware (s3-signed-put.ts) and sent by an
 * AES-GCM worker from the shared memory it lies in (PartSender, with the SDK's standard retries):
 * the main thread never touches a part's bytes, hashes them or writes them to a socket.
 *
 * Checked on the way, without the server echoing any checksum: every part goes with its
 * Content-MD5 (AWS, MinIO and Ceph refuse a part whose bytes differ), and the ETag a server gives
 * back for a part is the MD5 of what it stored unless the bucket encrypts with KMS or a customer
 * key (then it is opaque and the Content-MD5 check stands alone): a different MD5 fails the write.
 * At the end the object's size is read back (HEAD) and a multipart ETag of the usual form
 * ("<md5 of the parts' md5s>-<parts>") is compared too. A crash before `finish` leaves an
 * unfinished multipart upload, never an object: start-up aborts those where the server lists them.
 */
export class PartUpload implements ObjectWrite {
  private uploadId: Promise<string> | undefined;
  private first: Buffer | undefined;
  private readonly sent: Sent[] = [];
  private stopped = false;
  /** Where the part still in the ring at the end starts (the last part, maybe also the first). */
  private tailStart = 0;
  private readonly pumping: Promise<void>;
  /** A worker sends the parts (the main thread signs them): their bytes never pass this thread. */
  private readonly sender = new PartSender();

  constructor(
    private readonly t: PartTarget,
    private readonly bytes: ObjectBytes,
  ) {
    if (bytes.io.length % t.partBytes !== 0) throw new RangeError('the io ring must hold whole parts');
    this.pumping = this.pump();
    this.pumping.catch((err: Error) => bytes.fail(err));
  }

  private async pump(): Promise<void> {
    const { partBytes: P, queue } = this.t;
    const inFlight = new Map<number, Promise<void>>();
    const landed = new Set<number>();
    let releasedParts = 0;
    // Room goes back in order, as soon as a part lands (the maker may be waiting for it): a part
    // that lands early waits for the ones before it.
    const land = (n: number): void => {
      landed.add(n);
      while (landed.has(releasedParts + 1)) this.bytes.release(++releasedParts * P);
    };
    for (let n = 1; !this.stopped; n++) {
      const start = (n - 1) * P;
      while (this.bytes.ready < start + P && this.bytes.total === undefined) await this.bytes.more(this.bytes.ready);
      const total = this.bytes.total;
      if (total !== undefined && total <= start + P) {
        this.tailStart = start;
        break;
      }
      if (n === 1) {
        this.first = takeRing(P);
        this.bytes.io.copy(this.first, 0, 0, P);
        land(1);
      } else {
        while (inFlight.size >= queue) await Promise.race(inFlight.values());
        const sending = this.sendPart(n, start, P).then(() => {
          inFlight.delete(n);
          land(n);
        });
        sending.catch(() => undefined); // raced above, awaited below
        inFlight.set(n, sending);
      }
    }
    await Promise.all(inFlight.values());
  }

  private async upload(): Promise<string> {
    this.uploadId ??= this.t.client
      .send(
        new CreateMultipartUploadCommand({
          Bucket: this.t.bucket,
          Key: this.t.key,
          StorageClass: this.t.storageClass as StorageClass,
        }),
      )
      .then((r) => {
        if (!r.UploadId) throw new Error('the server started no multipart upload');
        return r.UploadId;
      });
    return this.uploadId;
  }

  private async sendPart(n: number, start: number, len: number, body?: Buffer): Promise<void> {
    const md5 = body ? crypto.createHash('md5').update(body).digest() : await this.bytes.md5(start, len);
    const { client, bucket, key } = this.t;
    const uploadId = await this.upload();
    const request = await signedUploadPart(client, { bucket, key, uploadId, partNumber: n, length: len, md5 });
    const r = await this.sender.put(request, body ?? this.bytes.io, body ? 0 : start % this.bytes.io.length, len);
    const ETag = r.ETag;
    if (!opaque(r) && !sameMd5(ETag, md5)) throw corrupt(`part ${n}`);
    this.sent.push({ PartNumber: n, ETag, md5 });
  }

  async finish(patch?: { at: number; bytes: Buffer }): Promise<{ size: number }> {
    try {
      return await this.complete(patch);
    } finally {
      this.sender.stop();
    }
  }

  private async complete(patch?: { at: number; bytes: Buffer }): Promise<{ size: number }> {
    await this.pumping;
    const total = this.bytes.total;
    if (total === undefined) throw new Error('the object was finished before all its bytes were made');
    const { partBytes: P, bucket: Bucket, key: Key, client } = this.t;
    const tailLen = total - this.tailStart;
    const at = this.tailStart % this.bytes.io.length;
    const tail = this.bytes.io.subarray(at, at + tailLen);
    if (this.tailStart === 0) {
      // One part: a single PutObject, of a copy (the ring's bytes stay as they were made).
      const body = Buffer.from(tail);
      if (patch) patch.bytes.copy(body, patch.at);
      const md5 = crypto.createHash('md5').update(body).digest();
      const r = await client.send(
        new PutObjectCommand({
          Bucket,
          Key,
          Body: body,
          ContentLength: body.length,
          ContentMD5: md5.toString('base64'),
          StorageClass: this.t.storageClass as StorageClass,
        }),
      );
      if (!opaque(r) && !sameMd5(r.ETag ?? '', md5)) throw corrupt('the object');
    } else {
      const first = this.first!;
      if (patch) patch.bytes.copy(first, patch.at);
      const sends = [this.sendPart(1, 0, P, first)];
      if (tailLen > 0) sends.push(this.sendPart(this.tailStart / P + 1, this.tailStart, tailLen));
      await Promise.all(sends);
      // Sent (an error would have left it to the collector: a failed request's socket may still hold it).
      this.first = undefined;
      giveBackRing(first);
      const parts = [...this.sent].sort((a, b) => a.PartNumber - b.PartNumber);
      const r = await client.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key,
          UploadId: await this.upload(),
          MultipartUpload: { Parts: parts.map(({ PartNumber, ETag }) => ({ PartNumber, ETag })) },
        }),
      );
      const etag = unquote(r.ETag ?? '');
      const composite = /^[0-9a-f]{32}-\d+$/.exec(etag);
      if (composite && !opaque(r) && etag !== compositeEtag(parts.map((p) => p.md5))) throw corrupt('the object');
    }
    const head = await client.send(new HeadObjectCommand({ Bucket, Key }));
    if (head.ContentLength !== total)
      throw new Error(`verification failed: the store holds ${head.ContentLength} bytes of ${Key}, ${total} were sent`);
    return { size: total };
  }

  async abort(): Promise<void> {
    this.stopped = true;
    this.bytes.fail(new Error('the write was abandoned'));
    await this.pumping.catch(() => undefined);
    this.sender.stop();
    if (!this.uploadId) return;
    const UploadId = await this.uploadId.catch(() => undefined);
    if (!UploadId) return;
    await this.t.client.send(new AbortMultipartUploadCommand({ Bucket: this.t.bucket, Key: this.t.key, UploadId }));
  }
}

/** Under KMS or a customer key, an ETag is not the MD5 of the bytes. */
function opaque(r: { ServerSideEncryption?: string; SSECustomerAlgorithm?: string }): boolean {
  return !!r.SSECustomerAlgorithm || (r.ServerSideEncryption ?? '').startsWith('aws:kms');
}

function unquote(etag: string): string {
  return etag.replace(/"/g, '').toLowerCase();
}

/** Whether `etag` is the MD5 `md5`; an ETag that is no MD5 at all (some servers' own form) is not compared. */
function sameMd5(etag: string, md5: Buffer): boolean {
  const e = unquote(etag);
  return !/^[0-9a-f]{32}$/.test(e) || e === md5.toString('hex');
}

function compositeEtag(md5s: Buffer[]): string {
  return `${crypto.createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-${md5s.length}`;
}

function corrupt(what: string): Error {
  return new Error(`verification failed: the store's MD5 of ${what} differs from the bytes sent`);
}
