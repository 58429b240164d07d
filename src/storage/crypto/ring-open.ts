import type { Readable, Writable } from 'node:stream';
import { type ReadPlan, aadOf, nonceOf } from './chunked';
import { CryptoError, chunkTruncated } from './errors';
import { GcmJob, giveBackRing, takeRing } from './gcm-worker';
import type { RemoteRead } from './remote-read';

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
 * Verified plaintext of a ranged read of an object (an object store's GET), written to `out` as
 * views of the worker's plaintext ring, as a file download's is. Two ways in:
 * - `pumpRemote`: the worker sends the signed GET and reads the response itself, opening each
 *   chunk as its bytes arrive (gcm-worker-fetch.ts); this thread only asks for chunks as the
 *   ring has room and writes the verified ones. Memory: the plaintext ring and one socket read.
 * - `pump`: the response is read here and copied into a shared io ring, from which the worker
 *   opens each whole chunk (its tag verified before any of its plaintext reaches the ring).
 *   Memory: the two rings.
 * Either way the GET is read no faster than `out` takes the plaintext.
 */
export class RingOpener {
  private readonly job: GcmJob;
  private readonly io: Buffer | undefined;
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
    private readonly remote?: RemoteRead,
  ) {
    this.io = remote ? undefined : takeRing(Math.max(IO_MIN, 4 * (chunkSize + 16)));
    const onStatus = remote ? (status: number): void => this.settle(status >= 300) : undefined;
    this.job = new GcmJob(-1, dek, Math.max(4 * 1024 * 1024, 4 * chunkSize), { io: this.io, onStatus });
    this.ringBytes = this.job.ring.length;
    this.next = plan.first;
  }

  private answered = false;

  /** The store's metrics see the GET once: when its status is in, or when it failed before. */
  private settle(failed: boolean): void {
    if (this.answered) return;
    this.answered = true;
    this.remote?.settled(failed);
  }

  /** The read's sealed bytes, fetched by the worker with the remote read's signed GET, to `out`. */
  async pumpRemote(out: Writable): Promise<void> {
    const { plan, remote } = this;
    const base = plan.sealedPosition(plan.first);
    const expected = plan.sealedPosition(plan.lastNeeded) + plan.sealedLength(plan.lastNeeded) - base;
    this.job.fetch(remote!.request, expected);
    try {
      for (;;) {
        this.issue(base);
        if (this.pending.length === 0 && this.next > plan.lastNeeded) break;
        await this.progress(out, base);
        if (this.cancelled) return;
      }
    } catch (err) {
      // No status came: the request failed before the server answered.
      this.settle(true);
      throw remote!.error(err as Error);
    }
    await this.finish(out);
  }

  /** The sealed bytes [sealedPosition(first), …] of the read, as `source` gives them, to `out`. */
  async pump(source: Readable, out: Writable): Promise<void> {
    const { plan } = this;
    const base = plan.sealedPosition(plan.first);
    const expected = plan.sealedPosition(plan.lastNeeded) + plan.sealedLength(plan.lastNeeded) - base;
    const io = this.io!;
    for await (const data of source) {
      const piece = data as Buffer;
      if (this.received + piece.length > expected)
        throw new CryptoError('TAMPERED', 'the object holds more bytes than its size says');
      for (let pos = 0; pos < piece.length && !this.cancelled;) {
        const room = io.length - (this.received - this.freed);
        if (room === 0) {
          await this.progress(out, base);
          continue;
        }
        const at = this.received % io.length;
        const n = Math.min(piece.length - pos, room, io.length - at);
        piece.copy(io, at, pos, pos + n);
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
    await this.finish(out);
  }

  private async finish(out: Writable): Promise<void> {
    out.end();
    // The ring goes back with the worker only once `out` holds no view of it.
    while (this.outstanding > 0 && !this.cancelled) await this.released();
    if (!this.cancelled) {
      await this.job.end();
      if (this.io) giveBackRing(this.io);
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
      (!this.io || this.sealedEnd(this.next, base) <= this.received) &&
      this.outstanding + plan.plainLength(this.next) <= this.ringBytes
    ) {
      const i = this.next++;
      const start = plan.sealedPosition(i) - base;
      const nonce = nonceOf(this.header, i);
      const aad = aadOf(this.header, i, i === plan.last);
      const at = this.asked % this.ringBytes;
      const request = this.io
        ? this.job.openIo(i, start % this.io.length, plan.sealedLength(i), nonce, aad, at)
        : this.job.openFetched(i, plan.sealedLength(i), nonce, aad, at);
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
