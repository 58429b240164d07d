import type fsp from 'node:fs/promises';
import { oneAtATime } from '../platform';

/**
 * A background fdatasync after every this many bytes: the disk then writes while more data
 * arrives, so the fsync at the end waits for a short tail instead of the whole file (about half
 * a second per GiB here when left to the end).
 */
const SYNC_EVERY = 32 * 1024 * 1024;

/**
 * Keeps a file being written durable as it grows. Only one sync runs at a time; a failed one
 * (EIO, ENOSPC) is reported by `finish()`, which then fsyncs data and metadata.
 */
export class SyncPacer {
  private syncedAt = 0;
  private readonly sync = oneAtATime(() => this.fh.datasync());
  private failure: { error: unknown } | undefined;

  constructor(private readonly fh: fsp.FileHandle) {}

  /** `written`: bytes written to the file so far. */
  progress(written: number): void {
    if (this.sync.running || written - this.syncedAt < SYNC_EVERY) return;
    this.syncedAt = written;
    this.sync().catch((error: unknown) => {
      this.failure ??= { error };
    });
  }

  /** Every byte written so far is on disk once this resolves. */
  async finish(): Promise<void> {
    await this.sync.idle();
    if (this.failure) throw this.failure.error;
    await this.fh.sync();
  }

  /** Waits for a sync in flight, so the file can be closed. */
  async settle(): Promise<void> {
    await this.sync.idle();
  }
}
