import { HEADER_BYTES, ReadPlan, aadOf, nonceOf, parseHeader, plaintextSize } from './chunked';
import { CryptoError } from './errors';
import { GcmJob, takeRing } from './gcm-worker';
import { IoRingMaker } from './io-ring-maker';
import { LABEL_BYTES, openLabel, sealLabel, type ObjectLabel } from './label';
import { type ObjectBytes, Wake } from './object-bytes';

/**
 * A move's stream of an encrypted object, authenticated as it passes: the source's bytes (a GET,
 * or a file read once) are copied into a shared io ring, the label is authenticated here and
 * every chunk by a worker (its tag verified, the plaintext dropped), and only bytes that have
 * verified are `ready` for the destination's writer. So the source is read once, the copy is
 * written once, and a damaged source never reaches the destination: the first bad chunk fails
 * the stream with a CryptoError naming it.
 */
export class RingVerifier extends IoRingMaker implements ObjectBytes {
  private received = 0;
  private verified = 0;
  private header: Buffer | undefined;
  private label: ObjectLabel | undefined;
  private plan: ReadPlan | undefined;
  private next = 0;
  private readonly pending: Array<{ request: number; end: number }> = [];
  private sourceEnded = false;
  private readonly arrived = new Wake();
  /** The last read of a file source asked of the worker. */
  private lastRead: number | undefined;

  /** `size`: the object's stored size (the source's HEAD or stat), which the stream must match. */
  constructor(
    private readonly dek: Buffer,
    ioBytes: number,
    private readonly size: number,
  ) {
    // The plaintext is dropped: the job's own ring is left as small as a ring may be.
    super(new GcmJob(-1, dek, 64 * 1024, { io: takeRing(ioBytes) }));
  }

  /** The plaintext size the object's framing declares, once its header is in. */
  plaintextSize: number | undefined;

  get ready(): number {
    this.collect();
    return this.verified;
  }

  get total(): number | undefined {
    return this.sourceEnded && this.ready === this.size ? this.size : undefined;
  }

  /** Copies a piece of the source in, waiting for room; rejects on damage or a failed writer. */
  async put(piece: Buffer): Promise<void> {
    for (let pos = 0; pos < piece.length;) {
      if (this.failure) throw this.failure;
      if (this.received + piece.length - pos > this.size)
        throw new CryptoError('TAMPERED', `the object holds more bytes than its ${this.size}`);
      const room = this.io.length - (this.received - this.ioReleased);
      if (room === 0) {
        // Only the writer frees room; a chunk that fails makes it fail too, which wakes this.
        await this.roomMade.wait();
        continue;
      }
      const at = this.received % this.io.length;
      const n = Math.min(piece.length - pos, room, this.io.length - at);
      piece.copy(this.io, at, pos, pos + n);
      this.received += n;
      pos += n;
      this.issue();
      this.arrived.notify();
    }
  }

  /**
   * A file source's bytes [pos, pos + len), read into the ring by the worker itself (they never
   * pass this thread), waiting for room; the file must stay open until `readsDone()` or `abort()`.
   * Rejects on damage or a failed writer.
   */
  async putFile(fd: number, pos: number, len: number): Promise<void> {
    for (let done = 0; done < len;) {
      if (this.failure) throw this.failure;
      if (this.received + len - done > this.size)
        throw new CryptoError('TAMPERED', `the object holds more bytes than its ${this.size}`);
      const room = this.io.length - (this.received - this.ioReleased);
      if (room === 0) {
        await this.roomMade.wait();
        continue;
      }
      const at = this.received % this.io.length;
      const n = Math.min(len - done, room, this.io.length - at);
      this.lastRead = this.job.readIo(fd, pos + done, n, at);
      this.received += n;
      done += n;
      // The header and label are read here, from the ring: only once the worker has put them there.
      if (!this.plan) await this.settled(this.lastRead);
      this.issue();
      this.arrived.notify();
    }
  }

  /** Resolves once the worker has read all `putFile` asked (the file may then be closed). */
  async readsDone(): Promise<void> {
    if (this.lastRead !== undefined) await this.settled(this.lastRead);
  }

  /** The source has ended: resolves once every byte of it verified (the size matching). */
  async end(): Promise<void> {
    this.issue();
    if (this.received < this.size || !this.plan || this.next <= this.plan.last)
      throw new CryptoError('TRUNCATED', `the object ended at ${this.received} of ${this.size} bytes`);
    this.sourceEnded = true;
    this.arrived.notify();
    await this.more(this.size - 1);
    this.ended = true;
    await this.job.end();
  }

  /** The source's label, authenticated (undefined for a version 1 object, which has none). */
  sourceLabel(): ObjectLabel | undefined {
    return this.label;
  }

  /** The label re-sealed as `change` makes it, and where it goes; undefined for version 1. */
  relabelled(change: (label: ObjectLabel) => ObjectLabel): { at: number; bytes: Buffer } | undefined {
    if (!this.label || !this.header) return undefined;
    return { at: HEADER_BYTES, bytes: sealLabel(this.header, this.dek, change(this.label)) };
  }

  async more(have: number): Promise<void> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.ready > have || this.total !== undefined) return;
      const next = this.pending.find((p) => p.end > have);
      if (next) await this.settled(next.request);
      else await Promise.race([this.arrived.wait(), this.roomMade.wait()]);
    }
  }

  fail(err: Error): void {
    this.failure ??= err;
    this.roomMade.notify();
    this.arrived.notify();
  }

  /** Gives up; resolves once the worker has let go of the ring. */
  async abort(): Promise<void> {
    this.fail(new Error('the copy was abandoned'));
    this.ended = true;
    await this.job.abort();
  }

  /** The header and label once they are in, then every chunk that has wholly arrived. */
  private issue(): void {
    if (!this.plan) {
      if (this.received < HEADER_BYTES) return;
      const parsed = parseHeader(this.io.subarray(0, HEADER_BYTES));
      if (this.received < parsed.dataStart) return;
      this.header = Buffer.from(this.io.subarray(0, HEADER_BYTES));
      if (parsed.version === 2)
        this.label = openLabel(
          this.header,
          Buffer.from(this.io.subarray(HEADER_BYTES, HEADER_BYTES + LABEL_BYTES)),
          this.dek,
        );
      this.plaintextSize = plaintextSize(this.size, parsed.chunkSize, parsed.dataStart);
      this.plan = new ReadPlan(parsed.chunkSize, this.plaintextSize, undefined, parsed.dataStart);
      this.verified = parsed.dataStart;
    }
    const plan = this.plan;
    while (this.next <= plan.last && plan.sealedPosition(this.next) + plan.sealedLength(this.next) <= this.received) {
      const i = this.next++;
      const pos = plan.sealedPosition(i);
      const len = plan.sealedLength(i);
      const request = this.job.openIo(
        i,
        pos % this.io.length,
        len,
        nonceOf(this.header!, i),
        aadOf(this.header!, i, i === plan.last),
        -1,
      );
      this.pending.push({ request, end: pos + len });
    }
  }

  private collect(): void {
    const completed = this.job.completed;
    while (this.pending.length > 0 && this.pending[0]!.request < completed) this.verified = this.pending.shift()!.end;
  }
}
