import fs from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { LOCATIONS, type DB, type Location } from '../db';
import { type Clock, AppError, type Logger } from '../platform';
import { deriveKek, generateMasterKey, keyFingerprint, parseMasterKey, unwrapKey, wrapKey } from './crypto';
import { KeyringRepository } from './keyring-repository';

export interface KeySource {
  encryptionKey: string | undefined;
  encryptionKeyFile: string | undefined;
  dataDir: string;
}

export interface WrappedKey {
  kekId: string;
  wrapped: Buffer;
}

/** Thrown at start when the data directory was written under another master key. */
export class KeyMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyMismatchError';
  }
}

const KEK_ID = /^(ONPREM|PRIVATE|PUBLIC):v(\d+)$/;

/**
 * Envelope keys. The master key (ENCRYPTION_KEY, ENCRYPTION_KEY_FILE, or one generated into the
 * data directory on a first start) derives one key-encryption key per (location, version);
 * each object's data key is wrapped by its location's current KEK. Rotation adds a version and
 * re-wraps data keys (32 bytes each): old versions stay derivable, so nothing is ever unreadable.
 */
export class Keyring {
  private master: Buffer | undefined;
  private readonly keks = new Map<string, Buffer>();
  private readonly repo: KeyringRepository;

  constructor(
    db: Kysely<DB>,
    private readonly source: KeySource,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.repo = new KeyringRepository(db);
  }

  async start(): Promise<void> {
    this.master = this.loadMaster();
    const fingerprint = keyFingerprint(this.master);
    const known = (await this.repo.fingerprint()) ?? (await this.repo.claimFingerprint(fingerprint, this.clock.now()));
    if (known !== fingerprint) {
      throw new KeyMismatchError(
        `the master key (fingerprint ${fingerprint}) is not the one this data directory was written with ` +
          `(fingerprint ${known}): set ENCRYPTION_KEY or ENCRYPTION_KEY_FILE to the original key`,
      );
    }
    await this.repo.ensureFirstVersions(this.clock.now());
  }

  private loadMaster(): Buffer {
    const { encryptionKey, encryptionKeyFile, dataDir } = this.source;
    if (encryptionKey) return parseMasterKey(encryptionKey);
    if (encryptionKeyFile) return parseMasterKey(fs.readFileSync(encryptionKeyFile, 'utf8').trim());
    const file = path.join(dataDir, 'master.key');
    if (fs.existsSync(file)) return parseMasterKey(fs.readFileSync(file, 'utf8').trim());
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(file, generateMasterKey() + '\n', { mode: 0o600, flag: 'wx' });
    this.logger.warn('storage.master_key_generated', {
      file,
      hint: 'back this file up: without it the stored data cannot be decrypted',
    });
    return parseMasterKey(fs.readFileSync(file, 'utf8').trim());
  }

  private kek(kekId: string): Buffer {
    const k = this.keks.get(kekId);
    if (!k) {
      const m = KEK_ID.exec(kekId);
      if (!m || !this.master) throw new Error(`unknown key id ${kekId}`);
      const derived: Buffer = deriveKek(this.master, m[1]!, Number(m[2]));
      this.keks.set(kekId, derived);
      return derived;
    }
    return k;
  }

  async currentKekId(location: Location): Promise<string> {
    return `${location}:v${await this.repo.currentVersion(location)}`;
  }

  async wrapFor(location: Location, dek: Buffer): Promise<WrappedKey> {
    const kekId = await this.currentKekId(location);
    return { kekId, wrapped: wrapKey(this.kek(kekId), kekId, dek) };
  }

  /**
   * Makes `kekId`'s version known (and the versions before it), so that a catalog rebuilt from
   * objects' labels never makes a version current again that data keys were wrapped past.
   */
  async adopt(kekId: string): Promise<void> {
    const m = KEK_ID.exec(kekId);
    if (!m) throw new Error(`unknown key id ${kekId}`);
    await this.repo.ensureVersions(m[1] as Location, Number(m[2]), this.clock.now());
  }

  unwrap(kekId: string, wrapped: Buffer): Buffer {
    return unwrapKey(this.kek(kekId), kekId, wrapped);
  }

  /**
   * A new KEK version for each location given, then every data key at those locations is
   * re-wrapped under it, a few hundred rows per transaction; reads keep working throughout.
   */
  async rotate(
    locations: readonly Location[] = LOCATIONS,
  ): Promise<{ versions: Record<string, number>; rewrapped: number }> {
    const versions: Record<string, number> = {};
    for (const location of locations) {
      const next = (await this.repo.currentVersion(location)) + 1;
      await this.repo.addVersion(location, next, this.clock.now());
      versions[location] = next;
    }
    let rewrapped = 0;
    for (const location of locations) {
      const target = `${location}:v${versions[location]}`;
      for (;;) {
        const rows = await this.repo.keysNotUnder(location, target, 500);
        if (rows.length === 0) break;
        await this.repo.rewrap(
          location,
          rows.map((r) => ({
            id: r.id,
            was: r.kek_id!,
            kek_id: target,
            wrapped_key: wrapKey(this.kek(target), target, this.unwrap(r.kek_id!, r.wrapped_key!)),
          })),
        );
        rewrapped += rows.length;
      }
    }
    this.logger.info('storage.keys_rotated', { versions, rewrapped });
    return { versions, rewrapped };
  }

  async status(): Promise<
    Array<{ location: Location; current_version: number; objects_by_key: Record<string, number> }>
  > {
    const counts = await this.repo.keyCounts();
    const out = [];
    for (const location of LOCATIONS) {
      const current = await this.repo.currentVersion(location);
      const objects: Record<string, number> = {};
      for (const c of counts) if (c.location === location && c.kek_id) objects[c.kek_id] = Number(c.n);
      out.push({ location, current_version: current, objects_by_key: objects });
    }
    return out;
  }
}

/** For routes: a data key that will not unwrap is a server-side problem, named clearly. */
export function keyError(err: unknown): AppError {
  return new AppError(500, `the stored data key could not be unwrapped: ${(err as Error).message}`);
}
