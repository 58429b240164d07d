import { Transform, type TransformCallback } from 'node:stream';

/**
 * A token bucket shared by every move, so MOVE_BANDWIDTH bounds the total rate whatever the
 * concurrency. 0 means unlimited.
 */
export class Bandwidth {
  private tokens: number;
  private last = Date.now();

  constructor(private readonly bytesPerSecond: number) {
    this.tokens = bytesPerSecond;
  }

  get limited(): boolean {
    return this.bytesPerSecond > 0;
  }

  /** The block size to copy in: `max` when unlimited, else about an eighth of a second's budget. */
  blockSize(max: number): number {
    if (!this.limited) return max;
    return Math.max(64 * 1024, Math.min(max, Math.floor(this.bytesPerSecond / 8)));
  }

  /** Resolves when `bytes` may pass. */
  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    if (!this.limited) return;
    for (;;) {
      const now = Date.now();
      this.tokens = Math.min(this.bytesPerSecond, this.tokens + ((now - this.last) / 1000) * this.bytesPerSecond);
      this.last = now;
      if (this.tokens >= bytes || (this.tokens >= this.bytesPerSecond && bytes > this.bytesPerSecond)) {
        this.tokens -= bytes;
        return;
      }
      if (signal?.aborted) return;
      const wait = Math.max(1, ((bytes - this.tokens) / this.bytesPerSecond) * 1000);
      await new Promise((r) => setTimeout(r, Math.min(wait, 250)));
    }
  }

  /** A pass-through stream that waits for tokens and reports progress. */
  stream(onBytes: (n: number) => void, signal?: AbortSignal): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc, cb: TransformCallback) => {
        this.take(chunk.length, signal).then(
          () => {
            onBytes(chunk.length);
            cb(null, chunk);
          },
          (err: Error) => cb(err),
        );
      },
    });
  }
}
