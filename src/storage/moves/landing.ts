import fsp from 'node:fs/promises';
import { Signal } from '../../platform';
import { Cancelled } from './errors';

/** Compare block size: two of them, small enough that a block read back is compared while in cache (~25% less CPU than 4 MiB, measured). */
const VERIFY_BLOCK = 1024 * 1024;

/** How far a copy has got: what a verifier may read, and a way to wait for more. */
export class Landing {
  bytes = 0;
  /** No more bytes will land: the copy finished or failed, or the verifier gave up. */
  ended = false;
  private readonly moved = new Signal();

  advance(bytes: number): void {
    this.bytes = bytes;
    this.moved.notify();
  }

  end(): void {
    this.ended = true;
    this.moved.notify();
  }

  /** Resolves once more than `have` bytes have landed, or the landing has ended. */
  async beyond(have: number): Promise<void> {
    while (this.bytes <= have && !this.ended) await this.moved.wait(1_000);
  }
}

/**
 * Compares the copy with the source block by block, each block once the copy has written it.
 * Resolves false at the first difference (ending the landing, so a block copy stops), or if the
 * copy ends short of `size` or longer; true once every byte matched. `before(at, len)` is awaited
 * before the block [at, at + len) is read.
 */
export async function verifyAsItLands(
  src: string,
  copy: string,
  size: number,
  landing: Landing,
  signal: AbortSignal,
  before: (at: number, len: number) => Promise<void>,
): Promise<boolean> {
  const [fa, fb] = await Promise.all([fsp.open(src, 'r'), fsp.open(copy, 'r')]);
  try {
    const [ba, bb] = [
      Buffer.allocUnsafe(Math.min(VERIFY_BLOCK, size)),
      Buffer.allocUnsafe(Math.min(VERIFY_BLOCK, size)),
    ];
    for (let pos = 0; pos < size; pos += VERIFY_BLOCK) {
      const len = Math.min(VERIFY_BLOCK, size - pos);
      while (landing.bytes < pos + len && !landing.ended) await landing.beyond(landing.bytes);
      if (signal.aborted) throw new Cancelled();
      if (landing.bytes < pos + len) return false;
      await before(pos, len);
      const [ra, rb] = await Promise.all([fa.read(ba, 0, len, pos), fb.read(bb, 0, len, pos)]);
      if (ra.bytesRead !== len || rb.bytesRead !== len || ba.compare(bb, 0, len, 0, len) !== 0) {
        landing.end();
        return false;
      }
    }
    while (!landing.ended) await landing.beyond(landing.bytes);
    return (await fb.stat()).size === size;
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}
