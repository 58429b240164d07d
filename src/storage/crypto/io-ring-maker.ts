import { type GcmJob, giveBackRing } from './gcm-worker';
import { Wake, md5Here } from './object-bytes';

/**
 * What the makers of an object's bytes in an io ring (ObjectBytes: the upload's sealer, a
 * move's verifier) share: the writer's releases that make room, MD5s of ring bytes asked of the
 * ring's worker (on this thread once it has ended), and the ring's return for reuse.
 */
export abstract class IoRingMaker {
  readonly io: Buffer;
  /** The writer is done with the object bytes before this. */
  protected ioReleased = 0;
  protected failure: Error | undefined;
  /** The job has ended: the ring is this thread's alone. */
  protected ended = false;
  protected readonly roomMade = new Wake();
  private digests = 0;

  protected constructor(protected readonly job: GcmJob) {
    if (!job.io) throw new Error('the job has no io ring');
    this.io = job.io;
  }

  release(upTo: number): void {
    if (upTo <= this.ioReleased) return;
    this.ioReleased = upTo;
    this.roomMade.notify();
  }

  async md5(from: number, len: number): Promise<Buffer> {
    const at = from % this.io.length;
    if (this.ended) return md5Here(this.io, at, len);
    const slot = this.digests++;
    const request = this.job.md5(at, len, slot);
    await this.settled(request);
    return this.job.digest(slot);
  }

  /** The io ring goes back for reuse once the writer is done with it too. */
  recycle(): void {
    giveBackRing(this.io);
  }

  /**
   * Request `n` completed. The maker's end may stop the job while a writer still waits on a
   * request that had completed: such a wait is interrupted, but its result stands.
   */
  protected async settled(n: number): Promise<void> {
    try {
      await this.job.waitFor(n);
    } catch (err) {
      if (this.job.completed <= n) throw err;
    }
  }
}
