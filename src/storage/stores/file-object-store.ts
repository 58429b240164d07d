import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Location } from '../../db';
import { TMP_PREFIX, fsyncDir, removeIfExists } from '../tier-tree';
import {
  MissingObject,
  type ListedObject,
  type ObjectHead,
  type ObjectStore,
  type StoreDescription,
} from './object-store';

/** Object keys are `<TIER>/<name>`; names are made by the product, never from user input. */
const KEY = /^(HOT|WARM|COLD)\/[A-Za-z0-9._-]+$/;
const PROBE = '.probe';

/**
 * A location's objects as files: `<root>/<tier>/<object id>.enc`, the tier tree's own layout, so
 * a data dir written before stores existed reads unchanged. Writes go to a temporary name beside
 * the final one, fsynced and renamed.
 */
export class FileObjectStore implements ObjectStore {
  readonly kind = 'file' as const;

  constructor(
    readonly location: Location,
    readonly root: string,
    private readonly shared = false,
  ) {}

  describe(): StoreDescription {
    return { location: this.location, kind: 'file', where: this.root, endpoint: undefined, shared: this.shared };
  }

  /** The file behind `key`: the cipher's fd-based paths (upload, download, moves) use it directly. */
  pathOf(key: string): string {
    if (!KEY.test(key) || key.includes('..')) throw new Error(`not an object key: ${key}`);
    return path.join(this.root, key);
  }

  async put(key: string, body: Readable): Promise<{ size: number; sha256: string }> {
    const final = this.pathOf(key);
    const tmp = path.join(path.dirname(final), `${TMP_PREFIX}${crypto.randomBytes(8).toString('hex')}`);
    const hash = crypto.createHash('sha256');
    let size = 0;
    const fh = await fsp.open(tmp, 'wx', 0o600);
    try {
      for await (const data of body) {
        const piece = data as Buffer;
        size += piece.length;
        hash.update(piece);
        for (let done = 0; done < piece.length;) done += (await fh.write(piece, done)).bytesWritten;
      }
      await fh.sync();
    } catch (err) {
      await fh.close().catch(() => undefined);
      await removeIfExists(tmp);
      throw err;
    }
    await fh.close();
    await fsp.rename(tmp, final);
    await fsyncDir(path.dirname(final));
    return { size, sha256: hash.digest('hex') };
  }

  async get(key: string, range?: { start: number; end: number }): Promise<Readable> {
    const file = this.pathOf(key);
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingObject(key);
      throw err;
    }
    return fh.createReadStream(range ? { start: range.start, end: range.end } : {});
  }

  async head(key: string): Promise<ObjectHead | undefined> {
    try {
      const st = await fsp.stat(this.pathOf(key));
      return { size: st.size, etag: `${st.size}-${st.mtimeMs}`, storageClass: undefined };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<boolean> {
    const file = this.pathOf(key);
    const removed = await removeIfExists(file);
    if (removed) await fsyncDir(path.dirname(file));
    return removed;
  }

  async *list(prefix = ''): AsyncIterable<ListedObject> {
    for (const tier of ['HOT', 'WARM', 'COLD']) {
      let names: string[];
      try {
        names = await fsp.readdir(path.join(this.root, tier));
      } catch {
        continue;
      }
      for (const name of names.sort()) {
        const key = `${tier}/${name}`;
        if (!key.startsWith(prefix)) continue;
        const st = await fsp.stat(path.join(this.root, key)).catch(() => undefined);
        if (st?.isFile()) yield { key, size: st.size, modifiedAt: st.mtimeMs };
      }
    }
  }

  async copy(from: string, to: string): Promise<undefined> {
    const final = this.pathOf(to);
    const tmp = path.join(path.dirname(final), `${TMP_PREFIX}${crypto.randomBytes(8).toString('hex')}`);
    try {
      await fsp.copyFile(this.pathOf(from), tmp, fs.constants.COPYFILE_EXCL);
      const fh = await fsp.open(tmp, 'r+');
      await fh.sync().finally(() => fh.close());
    } catch (err) {
      await removeIfExists(tmp);
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingObject(from);
      throw err;
    }
    await fsp.rename(tmp, final);
    await fsyncDir(path.dirname(final));
    return undefined;
  }

  /** Writes, reads back and removes a small file beside the tier folders (where no listing looks). */
  async probe(): Promise<void> {
    const file = path.join(this.root, `${PROBE}-${crypto.randomBytes(4).toString('hex')}`);
    const token = crypto.randomBytes(8);
    try {
      await fsp.writeFile(file, token, { mode: 0o600 });
      if (!(await fsp.readFile(file)).equals(token)) throw new Error(`${file} read back different bytes`);
    } finally {
      await removeIfExists(file).catch(() => false);
    }
  }

  abortAbandoned(): Promise<number | undefined> {
    return Promise.resolve(0);
  }
}
