import fs from 'node:fs';
import type { Writable } from 'node:stream';
import { promisify } from 'node:util';
import {
  HEADER_BYTES,
  ReadPlan,
  aadOf,
  checkChunkSize,
  makeHeader,
  nonceOf,
  openEncryptedFile,
  type EncryptedFile,
  type FormatVersion,
} from './chunked';
import { GcmJob } from './gcm-worker';
import { LABEL_BYTES, sealLabel, type ObjectLabel } from './label';

const pwrite = promisify(fs.write);

/**
 * The chunked format (chunked.ts) with the cipher on a worker thread (gcm-worker.ts): what the
 * HTTP upload and download use. This side decides every chunk boundary, nonce, AAD and final
 * flag; the worker only seals or opens what it is told.
 */

/**
 * Room for chunks being sealed while the next fills (upload), or opened while the socket still
 * holds the ones before them (download). One size for both, so a spare ring serves either.
 */
function ringBytesFor(chunkSize: number): number {
  return Math.max(4 * 1024 * 1024, 4 * chunkSize);
}

/**
 * Writes an encrypted object into an open, empty file and computes the plaintext's SHA-256.
 * Plaintext is copied into the worker's ring; a full chunk is sealed once more data arrives (only
 * the end says which chunk is final) and the worker hashes it, seals it and appends it to the
 * file. Memory: the ring, whatever the size.
 */
export class FileSealer {
  private readonly header: Buffer;
  private readonly ringBytes: number;
  /** Plaintext bytes copied into the ring, ever; ring position = this % ringBytes. */
  private written = 0;
  private chunkStart = 0;
  private index = 0;
  /** Plaintext bytes sealed and written by the worker (their ring space is free again). */
  private released = 0;
  private readonly seals: Array<{ request: number; end: number }> = [];
  private lastRequest: number;
  /** What did not fit in the ring yet. */
  private rest: Buffer | undefined;

  private constructor(
    private readonly job: GcmJob,
    private readonly chunkSize: number,
    private readonly fd: number,
    private readonly dek: Buffer,
    private readonly version: FormatVersion,
  ) {
    this.header = makeHeader(chunkSize, version);
    this.ringBytes = job.ring.length;
    // Version 2's label is known only at the end (its SHA-256): its room is written now, zeros.
    this.lastRequest = job.write(version === 2 ? Buffer.concat([this.header, Buffer.alloc(LABEL_BYTES)]) : this.header);
  }

  /**
   * `fd` must stay open until `end()` or `abort()` has resolved. Version 2 (what uploads write)
   * leaves room for the label, which `label()` fills once `end()` has given the SHA-256.
   */
  static create(fd: number, dek: Buffer, chunkSize: number, version: FormatVersion): FileSealer {
    checkChunkSize(chunkSize);
    return new FileSealer(new GcmJob(fd, dek, ringBytesFor(chunkSize), { sha256: true }), chunkSize, fd, dek, version);
  }

  /** Writes the label into its room (version 2, after `end()`); the caller syncs the file. */
  async label(label: ObjectLabel): Promise<void> {
    if (this.version !== 2) throw new Error('a version 1 object has no label');
    const bytes = sealLabel(this.header, this.dek, label);
    const { bytesWritten } = await pwrite(this.fd, bytes, 0, bytes.length, HEADER_BYTES);
    if (bytesWritten !== bytes.length) throw new Error(`the label was written short (${bytesWritten} bytes)`);
  }

  /** Plaintext bytes whose ciphertext the worker has written (for pacing background syncs). */
  get sealedBytes(): number {
    this.collect();
    return this.released;
  }

  /** Takes a piece; false means wait for `room()` before the next (like stream.write). */
  write(piece: Buffer): boolean {
    if (this.rest) throw new Error('FileSealer.write() before room() resolved');
    this.rest = this.copyIn(piece);
    return this.rest === undefined;
  }

  /** Resolves once the last piece is wholly in the ring; rejects if the worker failed. */
  async room(): Promise<void> {
    for (;;) {
      if (this.rest) this.rest = this.copyIn(this.rest);
      if (!this.rest) return;
      // copyIn just found the ring full, and a full ring always has a seal in flight: at most
      // one chunk of it is unsealed.
      await this.job.waitFor(this.seals[0]!.request);
    }
  }

  /**
   * Seals the final chunk (short, or even empty); resolves once all is written and the worker is
   * released, with the hex SHA-256 of all the plaintext written.
   */
  async end(): Promise<string> {
    await this.room();
    this.seal(true);
    await this.job.end();
    if (this.job.sha256 === undefined) throw new Error('the AES-GCM worker returned no SHA-256');
    return this.job.sha256;
  }

  /** Gives up; resolves once the worker no longer touches the file. */
  abort(): Promise<void> {
    return this.job.abort();
  }

  /** Copies what fits, sealing each chunk that is full when more follows; returns the rest. */
  private copyIn(piece: Buffer): Buffer | undefined {
    let pos = 0;
    while (pos < piece.length) {
      if (this.written - this.chunkStart === this.chunkSize) this.seal(false);
      const at = this.written % this.ringBytes;
      const n = Math.min(
        piece.length - pos,
        this.chunkStart + this.chunkSize - this.written,
        this.free(),
        this.ringBytes - at,
      );
      if (n === 0) return piece.subarray(pos);
      piece.copy(this.job.ring, at, pos, pos + n);
      this.written += n;
      pos += n;
    }
    return undefined;
  }

  private collect(): void {
    const done = this.job.completed;
    while (this.seals.length > 0 && this.seals[0]!.request < done) this.released = this.seals.shift()!.end;
  }

  private free(): number {
    this.collect();
    return this.ringBytes - (this.written - this.released);
  }

  private seal(final: boolean): void {
    const at = this.chunkStart % this.ringBytes;
    const len = this.written - this.chunkStart;
    this.lastRequest = this.job.seal(at, len, nonceOf(this.header, this.index), aadOf(this.header, this.index, final));
    this.seals.push({ request: this.lastRequest, end: this.written });
    this.index++;
    this.chunkStart = this.written;
  }
}

/**
 * Verified plaintext of an encrypted file, whole or a range, written to `out` straight from the
 * worker's ring: the worker reads and opens each chunk and copies it into the ring only once its
 * tag verified; the main thread writes views of the ring (no copy, no allocation) and frees their
 * space when the socket has taken them. At most the ring is outstanding, whatever the size.
 */
export class DecryptedFile {
  /** Plaintext bytes handed to `out` so far. */
  sent = 0;
  private cancelled = false;
  /** Ring bytes asked of the worker and not yet taken by the socket. */
  private outstanding = 0;
  private job: GcmJob | undefined;
  private onRelease: (() => void) | undefined;
  private closed: Promise<void> | undefined;

  private constructor(
    private readonly file: EncryptedFile,
    private readonly dek: Buffer,
    private readonly plan: ReadPlan,
  ) {}

  /** Opens and checks the file; `size` is what its length implies, `length` what the read returns. */
  static async open(path: string, dek: Buffer, range?: { start: number; end: number }): Promise<DecryptedFile> {
    const file = await openEncryptedFile(path, dek);
    try {
      return new DecryptedFile(file, dek, new ReadPlan(file.chunkSize, file.size, range, file.dataStart));
    } catch (err) {
      await file.fh.close();
      throw err;
    }
  }

  get size(): number {
    return this.file.size;
  }

  get length(): number {
    return this.plan.length;
  }

  /**
   * Writes the plaintext to `out` and ends it. Rejects (leaving `out` to the caller) if a chunk
   * fails verification or the file cannot be read; nothing unverified has been written then.
   */
  async sendTo(out: Writable): Promise<void> {
    try {
      if (this.closed) return; // cancelled before it started: the file is already closed
      const job = (this.job = new GcmJob(this.file.fh.fd, this.dek, ringBytesFor(this.file.chunkSize)));
      await this.pump(job, out);
    } catch (err) {
      if (!this.cancelled) throw err;
    } finally {
      await this.close();
    }
  }

  /** Stops (the client has gone, or it was a HEAD); resolves once the file is closed. */
  cancel(): Promise<void> {
    this.cancelled = true;
    this.onRelease?.();
    return this.close();
  }

  private async pump(job: GcmJob, out: Writable): Promise<void> {
    const { plan } = this;
    const ringBytes = job.ring.length;
    const pending: Array<{ request: number; index: number; at: number }> = [];
    let next = plan.first;
    /** Ring bytes asked for, ever; `outstanding` of them are not yet taken by the socket. */
    let asked = 0;
    const release = (n: number): void => {
      this.outstanding -= n;
      this.onRelease?.();
    };
    const released = async (): Promise<void> => {
      await new Promise<void>((resolve) => (this.onRelease = resolve));
      this.onRelease = undefined;
    };
    while (!this.cancelled && (next <= plan.lastNeeded || pending.length > 0)) {
      while (next <= plan.lastNeeded && this.outstanding + plan.plainLength(next) <= ringBytes) {
        const final = next === plan.last;
        const request = job.open(
          next,
          plan.sealedPosition(next),
          plan.sealedLength(next),
          nonceOf(this.file.header, next),
          aadOf(this.file.header, next, final),
          asked % ringBytes,
        );
        pending.push({ request, index: next, at: asked });
        asked += plan.plainLength(next);
        this.outstanding += plan.plainLength(next);
        next++;
      }
      if (pending.length === 0) {
        // The ring is full of plaintext the socket has not taken yet.
        await released();
        continue;
      }
      await job.waitFor(pending[0]!.request);
      while (!this.cancelled && pending.length > 0 && pending[0]!.request < job.completed) {
        const { index, at } = pending.shift()!;
        this.write(out, job.ring, index, at % ringBytes, release);
      }
    }
    if (this.cancelled) return;
    out.end();
    // The ring goes back with the worker only once the socket holds no view of it.
    while (this.outstanding > 0 && !this.cancelled) await released();
    if (!this.cancelled) await job.end();
  }

  /** Writes chunk `index`'s slice from the ring (in two views if it wraps); frees the chunk's space once written. */
  private write(out: Writable, ring: Buffer, index: number, at: number, release: (n: number) => void): void {
    const chunkBytes = this.plan.plainLength(index);
    const { from, to } = this.plan.slice(index);
    const views: Buffer[] = [];
    for (let pos = from; pos < to;) {
      const start = (at + pos) % ring.length;
      const n = Math.min(to - pos, ring.length - start);
      views.push(ring.subarray(start, start + n));
      pos += n;
    }
    if (views.length === 0) {
      release(chunkBytes);
      return;
    }
    views.forEach((view, k) => {
      this.sent += view.length;
      // A socket calls back in order, so the last view's callback frees the whole chunk.
      out.write(view, k === views.length - 1 ? () => release(chunkBytes) : undefined);
    });
  }

  private close(): Promise<void> {
    this.closed ??= (async () => {
      // The worker must be done with the descriptor before it is closed.
      await this.job?.abort({ ringInUse: this.outstanding > 0 });
      await this.file.fh.close();
    })();
    return this.closed;
  }
}
