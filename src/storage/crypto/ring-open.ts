import type { Readable, Writable } from 'node:stream';
import { type ReadPlan, aadOf, nonceOf } from './chunked';
import { CryptoError, chunkTruncated } from './errors';
import { GcmJob, giveBackRing, takeRing } from './gcm-worker';

/** Sealed bytes buffered between the GET and the worker: a few chunks, so the two overlap. */
const IO_MIN = 8 * 1024 * 1024;

interface Opening {
  request: number;
  index: number;
  /** Where its plaintext goes in the ring (ever-growing; position = at % ring size). */
  at: number;
  /** Sealed bytes received once this chunk's are freed (relative to the read's start). */
  ioEnd: number;
}

/**
 * Verified plaintext of a ranged read of an object (an object store's GET): the response's bytes
 * are copied into a shared io ring as they arrive, a worker opens each whole chunk from there
 * (its tag verified before any of its plaintext reaches the ring) while the next ones arrive,
 * and the plaintext is written to `out` as views of the worker's ring, as a file download's is.
 * Memory: the two rings; the GET is read no faster than `out` takes the plaintext.
 */
export class RingOpener {
  private readonly job: GcmJob;
  private readonly io: Buffer;
  private readonly ringBytes: number;
  /** Plaintext ring bytes asked for and not yet taken by `out`. */
  private outstanding = 0;
  private asked = 0;
  private onRelease: (() => void) | undefined;
  private readonly pending: Opening[] = [];
  private received = 0;
  private freed = 0;
  private next: number;
  cancelled = false;
  sent = 0;

  constructor(
    private readonly header: Buffer,
    dek: Buffer,
    private readonly plan: ReadPlan,
    chunkSize: number,
  ) {
    this.io = takeRing(Math.max(IO_MIN, 4 * (chunkSize + 16)));
    this.job = new GcmJob(-1, dek, Math.max(4 * 1024 * 1024, 4 * chunkSize), { io: this.io });
    this.ringBytes = this.job.ring.length;
    this.next = plan.first;
  }

  /** The sealed bytes [sealedPosition(first), …] of the read, as `source` gives them, to `out`. */
  async pump(source: Readable, out: Writable): Promise<void> {
    const { plan } = this;
    const base = plan.sealedPosition(plan.first);
    const expected = plan.sealedPosition(plan.lastNeeded) + plan.sealedLength(plan.lastNeeded) - base;
    for await (const data of source) {
      const piece = data as Buffer;
      if (this.received + piece.length > expected)
        throw new CryptoError('TAMPERED', 'the object holds more bytes than its size says');
      for (let pos = 0; pos < piece.length && !this.cancelled;) {
        const room = this.io.length - (this.received - this.freed);
        if (room === 0) {
          await this.progress(out, base);
          continue;
        }
        const at = this.received % this.io.length;
        const n = Math.min(piece.length - pos, room, this.io.length - at);
        piece.copy(this.io, at, pos, pos + n);
        this.received += n;
        pos += n;
        this.issue(base);
        this.drain(out);
      }
      if (this.cancelled) return;
    }
    for (;;) {
      this.issue(base);
      if (this.next <= plan.lastNeeded && this.sealedEnd(this.next, base) > this.received)
        throw chunkTruncated(this.next);
      if (this.pending.length === 0 && this.next > plan.lastNeeded) break;
      await this.progress(out, base);
      if (this.cancelled) return;
    }
    out.end();
    // The ring goes back with the worker only once `out` holds no view of it.
    while (this.outstanding > 0 && !this.cancelled) await this.released();
    if (!this.cancelled) {
      await this.job.end();
      giveBackRing(this.io);
    }
  }

  /** Stops: nothing more is written; resolves once the worker has let go of the rings. */
  async stop(): Promise<void> {
    this.cancelled = true;
    this.onRelease?.();
    await this.job.abort({ ringInUse: this.outstanding > 0 });
  }

  private sealedEnd(index: number, base: number): number {
    return this.plan.sealedPosition(index) + this.plan.sealedLength(index) - base;
  }

  /** Asks the worker to open every chunk that has wholly arrived, while the plaintext ring has room. */
  private issue(base: number): void {
    const { plan } = this;
    while (
      this.next <= plan.lastNeeded &&
      this.sealedEnd(this.next, base) <= this.received &&
      this.outstanding + plan.plainLength(this.next) <= this.ringBytes
    ) {
      const i = this.next++;
      const start = plan.sealedPosition(i) - base;
      const request = this.job.openIo(
        i,
        start % this.io.length,
        plan.sealedLength(i),
        nonceOf(this.header, i),
        aadOf(this.header, i, i === plan.last),
        this.asked % this.ringBytes,
      );
      this.pending.push({ request, index: i, at: this.asked, ioEnd: start + plan.sealedLength(i) });
      this.asked += plan.plainLength(i);
      this.outstanding += plan.plainLength(i);
    }
  }

  /** Writes what the worker has opened, in order; frees its io room. */
  private drain(out: Writable): void {
    const completed = this.job.completed;
    while (!this.cancelled && this.pending.length > 0 && this.pending[0]!.request < completed) {
      const o = this.pending.shift()!;
      this.freed = o.ioEnd;
      this.write(out, o.index, o.at % this.ringBytes);
    }
  }

  /** Waits for the next chunk to be opened (or, with none asked, for `out` to take plaintext). */
  private async progress(out: Writable, base: number): Promise<void> {
    // The plaintext ring may have room again since the last look.
    this.issue(base);
    const first = this.pending[0];
    if (first) await this.job.waitFor(first.request);
    else await this.released();
    this.drain(out);
  }

  private released(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.onRelease = () => {
        this.onRelease = undefined;
        resolve();
      };
    });
  }

  /** Chunk `index`'s slice from the ring (two views if it wraps); its space is freed once written. */
  private write(out: Writable, index: number, at: number): void {
    const chunkBytes = this.plan.plainLength(index);
    const { from, to } = this.plan.slice(index);
    const ring = this.job.ring;
    const release = (): void => {
      this.outstanding -= chunkBytes;
      this.onRelease?.();
    };
    const views: Buffer[] = [];
    for (let pos = from; pos < to;) {
      const start = (at + pos) % ring.length;
      const n = Math.min(to - pos, ring.length - start);
      views.push(ring.subarray(start, start + n));
      pos += n;
    }
    if (views.length === 0) return release();
    views.forEach((view, k) => {
      this.sent += view.length;
      // A socket calls back in order, so the last view's callback frees the whole chunk.
      out.write(view, k === views.length - 1 ? release : undefined);
    });
  }
}
