import fsp from 'node:fs/promises';
import path from 'node:path';
import { CryptoError, fetchToFile, plaintextSizeOfFile, relabelFile, type RangeSource } from '../crypto';
import type { StoredObjects } from '../stored-objects';
import { objectKey } from '../stores';
import { type TierTree, fsyncDir, removeIfExists } from '../tier-tree';
import { Cancelled } from './errors';
import type { CopyControl, Placement, StagedCopy } from './store';
import { type StreamedCopyDeps, damaged } from './streamed-copy';

/** Whether a copy from `from` to `to` is an object store's signed GET into a file (fetchedCopy). */
export function fetchesToFile(objects: StoredObjects, from: Placement, to: Placement): boolean {
  return (
    !objects.isFile(from.location) &&
    objects.store(from.location).remoteGet !== undefined &&
    objects.isFile(to.location)
  );
}

/**
 * A move out of an object store into a file, with the bulk of the work off the main thread: a
 * worker sends the source's signed GET, authenticates every chunk as it arrives and writes it
 * into the staging file (fetchToFile); the main thread asks for chunks under the bandwidth limit,
 * reports progress, and syncs the file at the end. As with streamedCopy, the verification is the
 * authentication on the way (every chunk's tag and the label, bound to the object's header) plus
 * the file's size after its fsync; a damaged source comes back as `sourceDamage`, nothing staged.
 */
export async function fetchedCopy(
  deps: StreamedCopyDeps,
  from: Placement,
  to: Placement,
  objectId: string,
  c: CopyControl,
): Promise<StagedCopy> {
  const { objects, tree, bandwidth } = deps;
  const tmp = tree.tmpPath(to.location, to.tier, objectId);
  const store = objects.store(from.location);
  const key = objectKey(from.tier, objectId);
  const src: RangeSource = {
    size: c.total,
    read: (start, end) => store.get(key, { start, end }),
    remote: (start, end) => store.remoteGet!(key, { start, end }),
  };
  await fsp.mkdir(path.dirname(tmp), { recursive: true, mode: 0o700 });
  try {
    const fh = await fsp.open(tmp, 'wx', 0o600);
    try {
      await fetchToFile({
        dek: c.dek,
        src,
        file: fh,
        gate: async (bytes) => {
          if (c.signal.aborted) throw new Cancelled();
          await bandwidth.take(bytes, c.signal);
        },
        landed: (bytes) => c.landed(Math.min(bytes, c.total)),
      });
      await c.copied();
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    await removeIfExists(tmp).catch(() => false);
    if (err instanceof CryptoError && !c.signal.aborted) return damaged(err.message);
    throw err;
  }
  return staged(tree, to, objectId, tmp, c);
}

function staged(tree: TierTree, to: Placement, objectId: string, tmp: string, c: CopyControl): Promise<StagedCopy> {
  return fsp.stat(tmp).then(({ size }) => {
    let published = false;
    return {
      same: size === c.total,
      sourceDamage: undefined,
      plaintextSize: () => plaintextSizeOfFile(tmp),
      relabel: (dek, changed) => relabelFile(tmp, dek, changed),
      publish: async () => {
        const dest = tree.objectPath(to.location, to.tier, objectId);
        await fsp.rename(tmp, dest);
        await fsyncDir(path.dirname(dest));
        published = true;
      },
      discard: async () => {
        if (!published) await removeIfExists(tmp).catch(() => false);
      },
    };
  });
}
