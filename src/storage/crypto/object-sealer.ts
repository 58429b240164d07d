import { HEADER_BYTES, aadOf, checkChunkSize, makeHeader, nonceOf } from './chunked';
import { GcmJob, takeRing } from './gcm-worker';
import { IoRingMaker } from './io-ring-maker';
import { LABEL_BYTES, sealLabel, type ObjectLabel } from './label';
import { type ObjectBytes, Wake } from './object-bytes';

const TAG = 16;

/**
 * An upload's data path to an object store (format version 2): plaintext is copied into a
 * worker's ring, the worker hashes it (SHA-256) and seals each full chunk into the io ring, where
 * an object store's writer takes the ciphertext part by part while the rest is still arriving.
 * No staging file, no second pass: memory is the two rings, whatever the size. The label (which
 * holds the SHA-256) is known only at the end: `labelBytes()` gives it, for the writer to patch
 * into the first part, which it holds back until then.
 */
export class ObjectSealer extends IoRingMaker implements ObjectBytes {
  private readonly header: Buffer;
  private readonly ringBytes: number;
  /** Plaintext bytes copied into the ring, ever; ring position = this % ringBytes. */
  private written = 0;
  private chunkStart = 0;
  private index = 0;
  /** Plaintext bytes sealed (their ring space is free again). */
  private released = 0;
  /** Object bytes asked of the worker (the header is written here at once). */
  private out = HEADER_BYTES + LABEL_BYTES;
  private done = HEADER_BYTES + LABEL_BYTES;
  private readonly seals: Array<{ request: number; end: number; outEnd: number }> = [];
  private rest: Buffer | undefined;
  private finalEnd: number | undefined;
  private readonly sealed = new Wake();

  private constructor(
    job: GcmJob,
    private readonly chunkSize: number,
    private readonly dek: Buffer,
  ) {
    super(job);
    this.header = makeHeader(chunkSize, 2);
    this.ringBytes = job.ring.length;
    // The label's room stays zeros here: the writer patches its own copy of the first part.
    this.header.copy(this.io, 0);
    this.io.fill(0, HEADER_BYTES, HEADER_BYTES + LABEL_BYTES);
  }

  /** `ioBytes`: the io ring's size (the writer's parts must tile it); at least a few chunks. */
  static create(dek: Buffer, chunkSize: number, ioBytes: number): ObjectSealer {
    checkChunkSize(chunkSize);
    const ring = Math.max(4 * 1024 * 1024, 4 * chunkSize);
    if (ioBytes < HEADER_BYTES + LABEL_BYTES + 2 * (chunkSize + TAG)) throw new RangeError('the io ring is too small');
    const job = new GcmJob(-1, dek, ring, { sha256: true, io: takeRing(ioBytes) });
    return new ObjectSealer(job, chunkSize, dek);
  }

  get ready(): number {
    this.collect();
    return this.done;
  }

  get total(): number | undefined {
    return this.finalEnd !== undefined && this.ready === this.finalEnd ? this.finalEnd : undefined;
  }

  /** The label's bytes and where they go in the object. */
  labelBytes(label: ObjectLabel): { at: number; bytes: Buffer } {
    return { at: HEADER_BYTES, bytes: sealLabel(this.header, this.dek, label) };
  }

  /** Takes a piece; false means wait for `room()` before the next (like stream.write). */
  write(piece: Buffer): boolean {
    if (this.rest) throw new Error('ObjectSealer.write() before room() resolved');
    this.rest = this.copyIn(piece);
    return this.rest === undefined;
  }

  /** Resolves once the last piece is wholly in the ring; rejects if the worker or the writer failed. */
  async room(): Promise<void> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.rest) this.rest = this.copyIn(this.rest);
      if (!this.rest) return;
      await this.progress();
    }
  }

  /** Seals the final chunk; resolves, once all is sealed, with the hex SHA-256 of the plaintext. */
  async end(): Promise<string> {
    await this.room();
    while (!this.ioRoom(this.written - this.chunkStart)) await this.progress();
    this.seal(true);
    this.finalEnd = this.out;
    await this.more(this.finalEnd - 1);
    this.ended = true;
    await this.job.end();
    if (this.job.sha256 === undefined) throw new Error('the AES-GCM worker returned no SHA-256');
    return this.job.sha256;
  }

  /** Gives up; resolves once the worker no longer touches the rings. */
  async abort(): Promise<void> {
    this.fail(new Error('the upload was abandoned'));
    this.ended = true;
    await this.job.abort();
  }

  async more(have: number): Promise<void> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.ready > have || this.total !== undefined) return;
      const next = this.seals.find((s) => s.outEnd > have);
      if (!next) await this.sealed.wait();
      else await this.settled(next.request);
    }
  }

  fail(err: Error): void {
    this.failure ??= err;
    this.roomMade.notify();
    this.sealed.notify();
  }

  /** Waits for a seal to finish or the writer to free room, whichever comes first. */
  private async progress(): Promise<void> {
    const pending = this.seals[0];
    const waits = [this.roomMade.wait()];
    if (pending) waits.push(this.job.waitFor(pending.request));
    await Promise.race(waits);
    this.collect();
  }

  /** Copies what fits, sealing each chunk that is full when more follows; returns the rest. */
  private copyIn(piece: Buffer): Buffer | undefined {
    let pos = 0;
    while (pos < piece.length) {
      if (this.written - this.chunkStart === this.chunkSize) {
        if (!this.ioRoom(this.chunkSize)) return piece.subarray(pos);
        this.seal(false);
      }
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

  /** Whether a sealed chunk of `len` plaintext bytes fits in the io ring now. */
  private ioRoom(len: number): boolean {
    return this.out + len + TAG - this.ioReleased <= this.io.length;
  }

  private collect(): void {
    const completed = this.job.completed;
    while (this.seals.length > 0 && this.seals[0]!.request < completed) {
      const s = this.seals.shift()!;
      this.released = s.end;
      this.done = s.outEnd;
    }
  }

  private free(): number {
    this.collect();
    return this.ringBytes - (this.written - this.released);
  }

  private seal(final: boolean): void {
    const at = this.chunkStart % this.ringBytes;
    const len = this.written - this.chunkStart;
    const nonce = nonceOf(this.header, this.index);
    const request = this.job.sealTo(at, len, nonce, aadOf(this.header, this.index, final), this.out % this.io.length);
    this.out += len + TAG;
    this.seals.push({ request, end: this.written, outEnd: this.out });
    this.index++;
    this.chunkStart = this.written;
    this.sealed.notify();
  }
}
