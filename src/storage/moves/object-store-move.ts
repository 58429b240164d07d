import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { plaintextSizeOfFile, plaintextSizeOfSource, relabelFile } from '../crypto';
import type { StoredObjects } from '../stored-objects';
import { objectKey } from '../stores';
import type { Bandwidth } from '../throttle';
import { type TierTree, fsyncDir, removeIfExists } from '../tier-tree';
import { authenticateObject } from '../verify-object';
import { Cancelled } from './errors';
import type { CopyControl, Leftover, MoveStore, Placement, StagedCopy } from './store';

export interface ObjectMoveStoreDeps {
  objects: StoredObjects;
  tree: TierTree;
  bandwidth: Bandwidth;
}

const sha256Of = async (stream: Readable): Promise<{ sha256: string; size: number }> => {
  const hash = crypto.createHash('sha256');
  let size = 0;
  for await (const piece of stream) {
    hash.update(piece as Buffer);
    size += (piece as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
};

/**
 * Moves that touch an object store (S3). Inside one S3 location the copy is the server's own
 * (CopyObject, or UploadPartCopy past 5 GiB) into the new tier's key and class: no byte passes
 * through the process. Across locations the ciphertext streams from the source (GET or file)
 * into a local staging file under the shared bandwidth limit, hashed as it comes; the staged
 * file is read back and compared, relabelled like a file move's copy, and published: renamed on
 * a file store, or uploaded (multipart) to the destination key and read back, its SHA-256
 * compared with the staged bytes before the switch. Every copy gets a new key; nothing is
 * overwritten in place, and the journal and recovery are the file moves' own.
 */
export class ObjectMoveStore implements MoveStore {
  constructor(private readonly deps: ObjectMoveStoreDeps) {}

  private serverSide(from: Placement, to: Placement): boolean {
    return from.location === to.location && !this.deps.objects.isFile(from.location);
  }

  async size(at: Placement, objectId: string): Promise<number> {
    if (this.deps.objects.isFile(at.location))
      return (await fsp.stat(this.deps.tree.objectPath(at.location, at.tier, objectId))).size;
    return (await this.deps.objects.source(at.location, at.tier, objectId)).size;
  }

  async stage(from: Placement, to: Placement, objectId: string, control: CopyControl): Promise<StagedCopy> {
    if (this.serverSide(from, to)) return this.copyInside(from, to, objectId, control);
    return this.copyAcross(from, to, objectId, control);
  }

  /** The server's copy into the new tier's key; its label (the same location's key) stays valid. */
  private async copyInside(from: Placement, to: Placement, objectId: string, c: CopyControl): Promise<StagedCopy> {
    const store = this.deps.objects.store(from.location);
    const key = objectKey(to.tier, objectId);
    let published = false;
    await store.copy(objectKey(from.tier, objectId), key, to.tier);
    await c.landed(c.total);
    await c.copied();
    const head = await store.head(key);
    return {
      same: head?.size === c.total,
      plaintextSize: async () => plaintextSizeOfSource(await this.deps.objects.source(to.location, to.tier, objectId)),
      // The label keeps the wrapping for this same location; the key names the tier (recover reads placement from it).
      relabel: () => Promise.resolve(true),
      publish: () => {
        published = true;
        return Promise.resolve();
      },
      discard: async () => {
        if (!published) await store.delete(key).catch(() => false);
      },
    };
  }

  private async copyAcross(from: Placement, to: Placement, objectId: string, c: CopyControl): Promise<StagedCopy> {
    const { objects, tree, bandwidth } = this.deps;
    const spool = tree.tmpPath(to.location, to.tier, objectId);
    await fsp.mkdir(path.dirname(spool), { recursive: true, mode: 0o700 });
    let published = false;
    const discard = async (): Promise<void> => {
      await removeIfExists(spool).catch(() => false);
      if (!published && !objects.isFile(to.location))
        await objects.remove(to.location, to.tier, objectId).catch(() => false);
    };
    try {
      const source = objects.isFile(from.location)
        ? fs.createReadStream(tree.objectPath(from.location, from.tier, objectId))
        : await objects.store(from.location).get(objectKey(from.tier, objectId));
      const hash = crypto.createHash('sha256');
      const out = await fsp.open(spool, 'wx', 0o600);
      let pos = 0;
      try {
        for await (const data of source) {
          if (c.signal.aborted) {
            source.destroy();
            throw new Cancelled();
          }
          const piece = data as Buffer;
          await bandwidth.take(piece.length, c.signal);
          hash.update(piece);
          for (let done = 0; done < piece.length;) done += (await out.write(piece, done)).bytesWritten;
          pos += piece.length;
          await c.landed(Math.min(pos, c.total));
        }
        await out.sync();
      } finally {
        await out.close();
      }
      await c.copied();
      const sent = hash.digest('hex');
      const back = await sha256Of(fs.createReadStream(spool));
      return {
        same: pos === c.total && back.size === c.total && back.sha256 === sent,
        plaintextSize: () => plaintextSizeOfFile(spool),
        relabel: (dek, change) => relabelFile(spool, dek, change),
        publish: async () => {
          await this.publish(to, objectId, spool);
          published = true;
        },
        discard,
      };
    } catch (err) {
      await discard();
      throw err;
    }
  }

  /** The staged file becomes the object; an upload is read back and compared before the switch. */
  private async publish(to: Placement, objectId: string, spool: string): Promise<void> {
    const { objects, tree } = this.deps;
    if (objects.isFile(to.location)) {
      const dest = tree.objectPath(to.location, to.tier, objectId);
      await fsp.rename(spool, dest);
      await fsyncDir(path.dirname(dest));
      return;
    }
    const staged = await sha256Of(fs.createReadStream(spool));
    const store = objects.store(to.location);
    const key = objectKey(to.tier, objectId);
    const put = await store.put(key, fs.createReadStream(spool), to.tier, staged.size);
    const stored = await sha256Of(await store.get(key));
    if (put.sha256 !== staged.sha256 || stored.sha256 !== staged.sha256 || stored.size !== staged.size)
      throw new Error('verification failed: the uploaded copy differs from the staged one');
    await removeIfExists(spool);
  }

  authenticate(
    at: Placement,
    objectId: string,
    dek: Buffer,
    plaintextBytes: number,
    pace: (authenticated: number) => Promise<void>,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    const { objects } = this.deps;
    return authenticateObject(
      () => objects.open(at.location, at.tier, objectId, dek),
      dek,
      plaintextBytes,
      pace,
      signal,
    );
  }

  remove(at: Placement, objectId: string): Promise<boolean> {
    return this.deps.objects.remove(at.location, at.tier, objectId);
  }

  async retire(at: Placement, objectId: string): Promise<Leftover | undefined> {
    await this.deps.objects.remove(at.location, at.tier, objectId);
    return undefined;
  }
}
