import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Location, Tier } from '../db';
import { AppError } from '../platform';
import { DecryptedFile, DecryptedStream, type PlainBody, type RangeSource } from './crypto';
import { MissingObject, needsRestore, objectKey, type ObjectStore, type ObjectStores } from './stores';
import { type TierTree, fsyncDir, removeIfExists } from './tier-tree';

export interface StoredObjectsDeps {
  stores: ObjectStores;
  tree: TierTree;
}

/**
 * One dataset object's bytes wherever its location keeps them. A file store is served by path
 * (the cipher reads and writes its descriptor on a worker thread, as before stores existed); an
 * object store by key, through ranged reads and multipart writes.
 */
export class StoredObjects {
  constructor(private readonly deps: StoredObjectsDeps) {}

  store(location: Location): ObjectStore {
    return this.deps.stores.of(location);
  }

  isFile(location: Location): boolean {
    return this.store(location).kind === 'file';
  }

  /**
   * Makes the sealed temporary file `tmp` (made by `tree.tmpPath`) the object: renamed in place
   * on a file store; uploaded, then removed, on an object store.
   */
  async publish(location: Location, tier: Tier, objectId: string, tmp: string): Promise<void> {
    if (this.isFile(location)) {
      const final = this.deps.tree.objectPath(location, tier, objectId);
      await fsp.rename(tmp, final);
      await fsyncDir(path.dirname(final));
      return;
    }
    try {
      const { size } = await fsp.stat(tmp);
      await this.store(location).put(objectKey(tier, objectId), fs.createReadStream(tmp), tier, size);
    } finally {
      await removeIfExists(tmp);
    }
  }

  /**
   * Opens the object for a verified read, whole or a range. An object in a class that must be
   * restored first starts the restore and answers 409 with when it should be ready.
   */
  async open(
    location: Location,
    tier: Tier,
    objectId: string,
    dek: Buffer,
    range?: { start: number; end: number },
  ): Promise<PlainBody> {
    if (this.isFile(location))
      return DecryptedFile.open(this.deps.tree.objectPath(location, tier, objectId), dek, range);
    return DecryptedStream.open(await this.source(location, tier, objectId), dek, range);
  }

  /** The object as ranged reads (object stores), checked readable now (else 409 while restoring). */
  async source(location: Location, tier: Tier, objectId: string): Promise<RangeSource> {
    const store = this.store(location);
    const key = objectKey(tier, objectId);
    const head = await store.head(key);
    if (!head) throw new MissingObject(key);
    if (needsRestore(head)) {
      if (!store.restore) throw AppError.conflict('the object must be restored before it can be read', {});
      const { readyAt } = await store.restore(key);
      throw AppError.conflict(
        `the object is in ${head.storageClass}, which must be restored before reading: a restore is running, ready about ${new Date(readyAt).toISOString()}`,
        { storage_class: head.storageClass ?? null, ready_at: new Date(readyAt).toISOString() },
      );
    }
    return { size: head.size, read: (start, end) => store.get(key, { start, end }) };
  }

  /** Removes the object if it is there (durably on a file store); true if it was. */
  remove(location: Location, tier: Tier, objectId: string): Promise<boolean> {
    return this.store(location).delete(objectKey(tier, objectId));
  }
}
