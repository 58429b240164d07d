import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { TIERS, type Location, type Tier } from '../db';
import { AppError } from '../platform';
import {
  DecryptedFile,
  DecryptedStream,
  type FoundHeader,
  type PlainBody,
  type RangeSource,
  plaintextSizeOfFile,
  plaintextSizeOfSource,
  readObjectHeader,
  readRangeHeader,
} from './crypto';
import { MissingObject, needsRestore, objectKey, type ObjectStore, type ObjectStores } from './stores';
import { TMP_PREFIX, type TierTree, fsyncDir, removeIfExists } from './tier-tree';

/** A stored object or temporary, wherever it is. */
export interface StoredEntry {
  location: Location;
  tier: Tier;
  objectId: string | null;
  tmp: boolean;
  /** For reports and logs: the path under the tier tree, or the object's s3:// address. */
  name: string;
  /** When it was last written (ms), if known. */
  modifiedAt(): Promise<number | undefined>;
  /** Removes it (durably on a file store). */
  remove(): Promise<void>;
}

const OBJECT_NAME = /^([0-9a-f]{32})\.enc$/;

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
    const remoteGet = store.remoteGet?.bind(store);
    return {
      size: head.size,
      read: (start, end) => store.get(key, { start, end }),
      ...(remoteGet ? { remote: (start: number, end: number) => remoteGet(key, { start, end }) } : {}),
    };
  }

  /** Removes the object if it is there (durably on a file store); true if it was. */
  remove(location: Location, tier: Tier, objectId: string): Promise<boolean> {
    return this.store(location).delete(objectKey(tier, objectId));
  }

  /**
   * Every object and temporary in every store: the tier tree's files (which also hold the local
   * staging files of object-store locations), and each object store's keys. With `unreachable`,
   * a store that cannot be listed is reported to it and left out instead of failing the whole.
   */
  async list(unreachable?: (location: Location, err: unknown) => void): Promise<StoredEntry[]> {
    const { tree, stores } = this.deps;
    // An object-store location's local folder holds only its staging files; anything else there
    // (files from before the location had a store) is not this store's and is left alone.
    const local = (await tree.list()).filter((f) => this.isFile(f.location) || f.tmp);
    const out: StoredEntry[] = local.map((f) => ({
      location: f.location,
      tier: f.tier,
      objectId: f.objectId,
      tmp: f.tmp,
      name: path.relative(tree.root, f.path),
      modifiedAt: async () => (await fsp.stat(f.path).catch(() => undefined))?.mtimeMs,
      remove: async () => {
        if (await removeIfExists(f.path)) await fsyncDir(path.dirname(f.path));
      },
    }));
    for (const location of stores.objectStoreLocations()) {
      try {
        out.push(...(await this.listStore(location)));
      } catch (err) {
        if (!unreachable) throw err;
        unreachable(location, err);
      }
    }
    return out;
  }

  /** One object store's keys as entries. */
  private async listStore(location: Location): Promise<StoredEntry[]> {
    const out: StoredEntry[] = [];
    const store = this.store(location);
    const where = store.describe().where;
    for await (const o of store.list()) {
      const [tier, name] = o.key.split('/') as [Tier, string | undefined];
      if (!name || !TIERS.includes(tier)) continue;
      const m = OBJECT_NAME.exec(name);
      out.push({
        location,
        tier,
        objectId: m ? m[1]! : null,
        tmp: name.startsWith(TMP_PREFIX),
        name: `${where}${o.key}`,
        modifiedAt: async () => o.modifiedAt,
        remove: async () => void (await store.delete(o.key)),
      });
    }
    return out;
  }

  /** The object's header (its label, before any key is at hand) and the plaintext size its length implies. */
  async header(
    location: Location,
    tier: Tier,
    objectId: string,
  ): Promise<FoundHeader & { plaintextSize(): Promise<number> }> {
    if (this.isFile(location)) {
      const file = this.deps.tree.objectPath(location, tier, objectId);
      return { ...(await readObjectHeader(file)), plaintextSize: () => plaintextSizeOfFile(file) };
    }
    const store = this.store(location);
    const key = objectKey(tier, objectId);
    const head = await store.head(key);
    if (!head) throw new MissingObject(key);
    const src: RangeSource = { size: head.size, read: (start, end) => store.get(key, { start, end }) };
    const h = await readRangeHeader(src);
    return {
      version: h.key ? 2 : 1,
      key: h.key,
      open: (dek) => h.open(dek),
      plaintextSize: () => plaintextSizeOfSource(src),
    };
  }
}
