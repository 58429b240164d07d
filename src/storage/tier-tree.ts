import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { LOCATIONS, TIERS, type Location, type Tier } from '../db';

const OBJECT_ID = /^[0-9a-f]{32}$/;
export const TMP_PREFIX = '.tmp-';

/**
 * The encrypted tier tree: DATA_DIR/tiers/<location>/<tier>/<object id>.enc. Every name in it
 * is made here from enums and random ids, never from user input, so no path can escape it.
 */
export class TierTree {
  readonly root: string;

  /** `roots`: a location whose file store is elsewhere (STORE_<LOCATION>=file:///path) has its folder there. */
  constructor(
    dataDir: string,
    private readonly roots: Partial<Record<Location, string>> = {},
  ) {
    this.root = path.join(dataDir, 'tiers');
  }

  ensure(): void {
    for (const l of LOCATIONS) for (const t of TIERS) fs.mkdirSync(this.dir(l, t), { recursive: true, mode: 0o700 });
  }

  dir(location: Location, tier: Tier): string {
    if (!LOCATIONS.includes(location) || !TIERS.includes(tier)) throw new Error(`not a placement: ${location}/${tier}`);
    return path.join(this.roots[location] ?? path.join(this.root, location), tier);
  }

  static newObjectId(): string {
    return crypto.randomBytes(16).toString('hex');
  }

  objectPath(location: Location, tier: Tier, objectId: string): string {
    if (!OBJECT_ID.test(objectId)) throw new Error('invalid object id');
    return path.join(this.dir(location, tier), `${objectId}.enc`);
  }

  /** A temporary name beside the final one; recovery removes any left behind. */
  tmpPath(location: Location, tier: Tier, objectId: string): string {
    if (!OBJECT_ID.test(objectId)) throw new Error('invalid object id');
    return path.join(this.dir(location, tier), `${TMP_PREFIX}${objectId}-${crypto.randomBytes(4).toString('hex')}`);
  }

  /** Every file in the tree: objects and temporaries, with their placement. */
  async list(): Promise<
    Array<{ location: Location; tier: Tier; name: string; path: string; objectId: string | null; tmp: boolean }>
  > {
    const out = [];
    for (const location of LOCATIONS) {
      for (const tier of TIERS) {
        const dir = this.dir(location, tier);
        let names: string[];
        try {
          names = await fsp.readdir(dir);
        } catch {
          continue;
        }
        for (const name of names) {
          const m = /^([0-9a-f]{32})\.enc$/.exec(name);
          out.push({
            location,
            tier,
            name,
            path: path.join(dir, name),
            objectId: m ? m[1]! : null,
            tmp: name.startsWith(TMP_PREFIX),
          });
        }
      }
    }
    return out;
  }
}

/** Makes a rename or unlink in `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function removeIfExists(file: string): Promise<boolean> {
  try {
    await fsp.unlink(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

export async function exists(file: string): Promise<boolean> {
  try {
    await fsp.access(file);
    return true;
  } catch {
    return false;
  }
}
