import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { CryptoError, RingVerifier, plaintextSizeOfFile, relabelFile, ringViews } from '../crypto';
import type { StoredObjects } from '../stored-objects';
import { objectKey } from '../stores';
import type { Bandwidth } from '../throttle';
import { type TierTree, fsyncDir, removeIfExists } from '../tier-tree';
import { Cancelled } from './errors';
import type { CopyControl, Placement, StagedCopy } from './store';

export interface StreamedCopyDeps {
  objects: StoredObjects;
  tree: TierTree;
  bandwidth: Bandwidth;
}

/** The ring between source and destination when the destination is a file. */
const FILE_RING = 8 * 1024 * 1024;
/** Reads of a file source. */
const READ_BLOCK = 1024 * 1024;

/**
 * A copy across locations with an object store on one side or both: the source read once, each
 * chunk authenticated as it passes (RingVerifier), the verified bytes written once to the
 * destination. The verification of the copy is the authentication on the way (every chunk's tag
 * and the label, bound to the object's own header, so nothing else can pass for it) plus what
 * the destination says of what it stored: an S3 part's MD5 and the object's size, a file's
 * size after its fsync. A damaged source comes back as `sourceDamage`, with nothing published.
 */
export async function streamedCopy(
  deps: StreamedCopyDeps,
  from: Placement,
  to: Placement,
  objectId: string,
  c: CopyControl,
): Promise<StagedCopy> {
  const { objects, tree } = deps;
  const destStore = objects.store(to.location);
  const toS3 = !objects.isFile(to.location) && destStore.write !== undefined;
  const verifier = new RingVerifier(c.dek, toS3 ? destStore.ringBytes! : FILE_RING, c.total);
  const tmp = tree.tmpPath(to.location, to.tier, objectId);
  const write = toS3 ? destStore.write!(objectKey(to.tier, objectId), to.tier, verifier) : undefined;
  let fileWrite: Promise<number> | undefined;
  if (!toS3) {
    await fsp.mkdir(path.dirname(tmp), { recursive: true, mode: 0o700 });
    fileWrite = writeFile(verifier, tmp);
    fileWrite.catch((err: Error) => verifier.fail(err));
  }
  let published = false;
  let change: Parameters<StagedCopy['relabel']>[1] | undefined;
  const discard = async (): Promise<void> => {
    await verifier.abort();
    if (published) return;
    await write?.abort().catch(() => undefined);
    await fileWrite?.catch(() => undefined);
    await removeIfExists(tmp).catch(() => false);
  };
  try {
    await pump(deps, from, objectId, verifier, c);
    await verifier.end();
    await c.copied();
    const written = fileWrite ? await fileWrite : c.total;
    return {
      same: written === c.total,
      sourceDamage: undefined,
      plaintextSize: async () => (toS3 ? verifiedPlaintext(verifier, c) : plaintextSizeOfFile(tmp)),
      relabel: async (dek, changed) => {
        if (!toS3) return relabelFile(tmp, dek, changed);
        change = changed;
        return verifier.sourceLabel() !== undefined;
      },
      publish: async () => {
        if (write) {
          // The label goes into the first part, which the write sent last.
          await write.finish(verifier.relabelled(change ?? ((l) => l)));
          verifier.recycle();
        } else {
          const dest = tree.objectPath(to.location, to.tier, objectId);
          await fsp.rename(tmp, dest);
          await fsyncDir(path.dirname(dest));
        }
        published = true;
      },
      discard,
    };
  } catch (err) {
    await discard();
    if (err instanceof CryptoError && !c.signal.aborted) return damaged(err.message);
    throw err;
  }
}

/** The plaintext size the verified stream's framing declared (every chunk of it authenticated). */
function verifiedPlaintext(v: RingVerifier, c: CopyControl): number {
  if (v.total !== c.total || v.plaintextSize === undefined) throw new Error('the copy is incomplete');
  return v.plaintextSize;
}

export function damaged(detail: string): StagedCopy {
  const nothing = (): Promise<void> => Promise.resolve();
  return {
    same: false,
    sourceDamage: detail,
    plaintextSize: () => Promise.resolve(-1),
    relabel: () => Promise.resolve(false),
    publish: () => Promise.reject(new Error('a copy of a damaged source is never published')),
    discard: nothing,
  };
}

/** The source's bytes into the verifier, once, under the bandwidth limit, with progress. */
async function pump(
  deps: StreamedCopyDeps,
  from: Placement,
  objectId: string,
  verifier: RingVerifier,
  c: CopyControl,
): Promise<void> {
  const { objects, tree, bandwidth } = deps;
  if (objects.isFile(from.location))
    return pumpFile(deps, tree.objectPath(from.location, from.tier, objectId), verifier, c);
  const source: Readable = await objects.store(from.location).get(objectKey(from.tier, objectId));
  let pos = 0;
  try {
    for await (const data of source) {
      if (c.signal.aborted) throw new Cancelled();
      const piece = data as Buffer;
      await bandwidth.take(piece.length, c.signal);
      await verifier.put(piece);
      pos += piece.length;
      await c.landed(Math.min(pos, c.total));
    }
  } finally {
    source.destroy();
  }
}

/**
 * A file source, read by the verifier's worker straight into its ring, a block at a time under
 * the bandwidth limit: its bytes never pass this thread. The file stays open until the worker
 * has read all it was asked, or has let go of the ring.
 */
async function pumpFile(deps: StreamedCopyDeps, file: string, verifier: RingVerifier, c: CopyControl): Promise<void> {
  const fh = await fsp.open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    for (let pos = 0; pos < size;) {
      if (c.signal.aborted) throw new Cancelled();
      const n = Math.min(READ_BLOCK, size - pos);
      await deps.bandwidth.take(n, c.signal);
      await verifier.putFile(fh.fd, pos, n);
      pos += n;
      await c.landed(Math.min(pos, c.total));
    }
    await verifier.readsDone();
  } catch (err) {
    await verifier.abort();
    throw err;
  } finally {
    await fh.close();
  }
}

/** Writes the verified bytes to `file` as they become ready, then fsyncs it: the bytes written. */
async function writeFile(v: RingVerifier, file: string): Promise<number> {
  const fh = await fsp.open(file, 'wx', 0o600);
  try {
    let written = 0;
    for (;;) {
      await v.more(written);
      const ready = v.ready;
      for (const view of ringViews(v.io, written, ready - written)) {
        for (let done = 0; done < view.length;) {
          const { bytesWritten } = await fh.write(view, done, view.length - done, written + done);
          if (bytesWritten === 0) throw new Error(`the destination took no bytes at ${written + done}`);
          done += bytesWritten;
        }
        written += view.length;
      }
      v.release(written);
      if (v.total !== undefined && written === v.total) break;
    }
    await fh.sync();
    return written;
  } finally {
    await fh.close();
  }
}
