import crypto from 'node:crypto';

/**
 * An encrypted object's bytes passing in order through a ring of shared memory (`io`), from
 * whatever makes them (the upload's sealer, a move's verified source) to an object store's
 * writer. Object byte `n` sits at `io[n % io.length]`; the writer reads views of the ring and
 * releases them once sent, which is what lets the maker go on: memory stays the ring's size.
 */
export interface ObjectBytes {
  readonly io: Buffer;
  /** Bytes of the object (from its first) ready in `io`; only grows. */
  readonly ready: number;
  /** The object's whole size, once every byte of it is ready; undefined before. */
  readonly total: number | undefined;
  /** Resolves once more than `have` bytes are ready or the total is known; rejects if the maker failed. */
  more(have: number): Promise<void>;
  /** The writer is done with the bytes before `upTo`: their room may be reused. */
  release(upTo: number): void;
  /** The MD5 of object bytes [from, from + len), which must still be in the ring. */
  md5(from: number, len: number): Promise<Buffer>;
  /** The writer failed: the maker stops and rethrows `err`. */
  fail(err: Error): void;
}

/** One wait that any number may share, woken together (no listener left behind per wait). */
export class Wake {
  private waiting: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  wait(): Promise<void> {
    this.waiting ??= new Promise<void>((resolve) => (this.wake = resolve));
    return this.waiting;
  }

  notify(): void {
    const wake = this.wake;
    this.waiting = this.wake = undefined;
    wake?.();
  }
}

/** The MD5 of `io` bytes [at, at + len) on this thread (wrapping). */
export function md5Here(io: Buffer, at: number, len: number): Buffer {
  const h = crypto.createHash('md5');
  const first = Math.min(len, io.length - at);
  h.update(io.subarray(at, at + first));
  if (first < len) h.update(io.subarray(0, len - first));
  return h.digest();
}

/** The ring bytes [from, from + len) of the object as views (two where they wrap). */
export function ringViews(io: Buffer, from: number, len: number): Buffer[] {
  const at = from % io.length;
  const first = Math.min(len, io.length - at);
  const views = [io.subarray(at, at + first)];
  if (first < len) views.push(io.subarray(0, len - first));
  return views;
}
