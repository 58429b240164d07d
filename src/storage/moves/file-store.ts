import fsp from 'node:fs/promises';
import path from 'node:path';
import { Signal } from '../../platform';
import { plaintextSizeOfFile, relabelFile } from '../crypto';
import type { Faults } from '../faults';
import { SyncPacer } from '../sync-pacer';
import type { Bandwidth } from '../throttle';
import { type TierTree, exists, fsyncDir, removeIfExists } from '../tier-tree';
import { authenticateObject } from '../verify-object';
import { Cancelled } from './errors';
import { Landing, verifyAsItLands } from './landing';
import type { CopyControl, Leftover, MoveStore, Placement, StagedCopy } from './store';

/** Copy block size (throttled copies use smaller ones). */
const COPY_BLOCK = 4 * 1024 * 1024;
/** How often the size of a copy made by the kernel is looked at (progress, and what the verifier may read). */
const LANDING_POLL_MS = 10;
/** A moved source this large is unlinked after the move is done rather than before (see retire). */
const DEFERRED_REMOVAL_BYTES = 64 * 1024 * 1024;

export interface FileMoveStoreDeps {
  tree: TierTree;
  bandwidth: Bandwidth;
  faults: Faults;
}

/** The encrypted file tree as a move sees it: the ciphertext is copied as it is, never decrypted. */
export class FileMoveStore implements MoveStore {
  constructor(private readonly deps: FileMoveStoreDeps) {}

  private path(at: Placement, objectId: string): string {
    return this.deps.tree.objectPath(at.location, at.tier, objectId);
  }

  async size(at: Placement, objectId: string): Promise<number> {
    return (await fsp.stat(this.path(at, objectId))).size;
  }

  async stage(from: Placement, to: Placement, objectId: string, control: CopyControl): Promise<StagedCopy> {
    const tmp = this.deps.tree.tmpPath(to.location, to.tier, objectId);
    const dest = this.path(to, objectId);
    const discard = async (): Promise<void> => {
      await removeIfExists(tmp).catch(() => false);
    };
    try {
      const same = await this.copyVerified(this.path(from, objectId), tmp, control);
      return {
        same,
        plaintextSize: () => plaintextSizeOfFile(tmp),
        relabel: (dek, change) => relabelFile(tmp, dek, change),
        publish: async () => {
          await fsp.rename(tmp, dest);
          await fsyncDir(path.dirname(dest));
        },
        discard,
      };
    } catch (err) {
      await discard();
      throw err;
    }
  }

  authenticate(
    at: Placement,
    objectId: string,
    dek: Buffer,
    plaintextBytes: number,
    pace: (authenticated: number) => Promise<void>,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    return authenticateObject(this.path(at, objectId), dek, plaintextBytes, pace, signal);
  }

  async remove(at: Placement, objectId: string): Promise<boolean> {
    const file = this.path(at, objectId);
    if (!(await exists(file))) return false;
    const removed = await removeIfExists(file);
    if (removed) await fsyncDir(path.dirname(file));
    return removed;
  }

  /**
   * A large source leaves its name at once and is unlinked just after the move is done:
   * unlinking frees its blocks and cached pages (~0.2 s per GiB here), which nothing needs to
   * wait for. A crash in between leaves a temporary file, which recovery removes.
   */
  async retire(at: Placement, objectId: string, size: number): Promise<Leftover | undefined> {
    const src = this.path(at, objectId);
    const doomed = size >= DEFERRED_REMOVAL_BYTES ? this.deps.tree.tmpPath(at.location, at.tier, objectId) : undefined;
    const left = doomed ? await renameIfExists(src, doomed) : (await removeIfExists(src), undefined);
    await fsyncDir(path.dirname(src));
    if (!left) return undefined;
    return {
      name: path.relative(this.deps.tree.root, left),
      remove: async () => {
        await removeIfExists(left);
        await fsyncDir(path.dirname(left));
      },
    };
  }

  /**
   * Copies the ciphertext and verifies the copy as it lands: a verifier trails the copy, reading
   * back each block of the destination once it is written and comparing it with the source, so
   * the copy is read back while the rest is still being written instead of after it.
   * Unthrottled, the copy is one fs.copyFile (the kernel's copy_file_range: one memory copy, no
   * user-space buffers); a cancel then takes effect when it returns (about a second per GiB
   * here). Throttled, blocks of about 1/8 s of budget, with background syncs as the file grows.
   * Resolves once the copy is fsynced and every byte of it compared: true if all matched.
   */
  private async copyVerified(src: string, tmp: string, c: CopyControl): Promise<boolean> {
    const output = await fsp.open(tmp, 'wx', 0o600);
    const landing = new Landing();
    const verifier = verifyAsItLands(src, tmp, c.total, landing, c.signal, (at, len) =>
      this.deps.faults.reach('move.before_verify', { move_id: c.moveId, file: tmp, at: at + (len >> 1) }),
    );
    // Settled below in every path; this only keeps an early rejection from being "unhandled".
    verifier.catch(() => undefined);
    const landed = async (pos: number): Promise<void> => {
      landing.advance(pos);
      await c.landed(pos);
    };
    try {
      if (this.deps.bandwidth.limited) await this.copyBlocks(src, output, c, landing, landed);
      else await copyWhole(src, tmp, output, c.total, landed);
      landing.end();
      if (c.signal.aborted) throw new Cancelled();
      await c.copied();
      // The fsync and the verifier's tail run together; the rename waits for both.
      const [same] = await Promise.all([verifier, output.sync()]);
      return same;
    } catch (err) {
      landing.end();
      await verifier.catch(() => undefined);
      throw err;
    } finally {
      await output.close().catch(() => undefined);
    }
  }

  /**
   * The throttled copy: positional reads and writes in blocks of about 1/8 s of budget (progress
   * stays live and the rate smooth), the next block read while this one is written, the file
   * synced in the background as it grows so the final fsync waits for a short tail.
   */
  private async copyBlocks(
    src: string,
    output: fsp.FileHandle,
    c: CopyControl,
    landing: Landing,
    landed: (pos: number) => Promise<void>,
  ): Promise<void> {
    const { total, signal } = c;
    const size = this.deps.bandwidth.blockSize(COPY_BLOCK);
    const buffers = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
    const input = await fsp.open(src, 'r');
    const pacer = new SyncPacer(output);
    let reading: Promise<number> | undefined;
    const readAhead = (buf: Buffer, at: number): Promise<number> => {
      const p = input.read(buf, 0, Math.min(buf.length, total - at), at).then((r) => r.bytesRead);
      p.catch(() => undefined); // awaited below, or dropped with the copy
      return p;
    };
    try {
      let pos = 0;
      let turn = 0;
      if (total > 0) reading = readAhead(buffers[0]!, 0);
      // A verifier that found a difference has ended the landing: the rest would be copied for nothing.
      while (pos < total && !landing.ended) {
        if (signal.aborted) throw new Cancelled();
        const buf = buffers[turn]!;
        const bytesRead = await reading!;
        if (bytesRead === 0) throw new Error(`the source ended at ${pos} of ${total} bytes`);
        turn ^= 1;
        reading = pos + bytesRead < total ? readAhead(buffers[turn]!, pos + bytesRead) : undefined;
        await this.deps.bandwidth.take(bytesRead, signal);
        await writeFully(output, buf, bytesRead, pos, total);
        pos += bytesRead;
        pacer.progress(pos);
        await landed(pos);
      }
      await pacer.finish();
    } catch (err) {
      await reading?.catch(() => undefined);
      await pacer.settle();
      throw err;
    } finally {
      await input.close().catch(() => undefined);
    }
  }
}

/**
 * Writes `buf[0, length)` at `pos`. A write can land short (a disk filling up does that before it
 * says ENOSPC): the rest is written again, so a full disk fails with ENOSPC rather than leave a
 * hole to be found later.
 */
async function writeFully(
  output: fsp.FileHandle,
  buf: Buffer,
  length: number,
  pos: number,
  total: number,
): Promise<void> {
  for (let done = 0; done < length;) {
    const { bytesWritten } = await output.write(buf, done, length - done, pos + done);
    if (bytesWritten === 0) throw new Error(`the destination took no bytes at ${pos + done} of ${total}`);
    done += bytesWritten;
  }
}

/**
 * The whole file in one fs.copyFile into `tmp` (already created and open as `output`; copyFile
 * truncates it and writes from the start). Its size is looked at while the kernel copies, so
 * progress stays live and the verifier can follow.
 */
async function copyWhole(
  src: string,
  tmp: string,
  output: fsp.FileHandle,
  total: number,
  landed: (pos: number) => Promise<void>,
): Promise<void> {
  let done = false;
  const finished = new Signal();
  const copy = fsp.copyFile(src, tmp).finally(() => {
    done = true;
    finished.notify();
  });
  copy.catch(() => undefined); // awaited below
  let seen = 0;
  while (!done) {
    const { size } = await output.stat();
    // Never past the source's size: a file longer than that is for the verifier to find.
    if (size > seen) await landed((seen = Math.min(size, total)));
    await finished.wait(LANDING_POLL_MS);
  }
  await copy;
  const { size } = await output.stat();
  await landed(Math.min(size, total));
}

/** `from` renamed to `to`; undefined if `from` did not exist. */
async function renameIfExists(from: string, to: string): Promise<string | undefined> {
  try {
    await fsp.rename(from, to);
    return to;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
