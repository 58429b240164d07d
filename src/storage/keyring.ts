import type { Kysely } from 'kysely';
import { LOCATIONS, type DB, type Location } from '../db';
import { type Clock, AppError, type Logger } from '../platform';
import { KeyringRepository } from './keyring-repository';
import { type KeySource, MasterKeys, kekIdOf, parseKekId } from './master-keys';

export type { KeySource } from './master-keys';

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

/** Where the master key stands, for `/readyz` details and the keys API. */
export interface MasterStatus {
  fingerprint: string;
  /** The master a rotation re-wraps away from, while data keys are still wrapped under it. */
  rotating_from?: string;
  /** Data keys (and their objects' labels) still to re-wrap under the current master. */
  left?: number;
  previous_key: string;
}

/**
 * Envelope keys. The master key (ENCRYPTION_KEY, ENCRYPTION_KEY_FILE, or one generated into the
 * data directory on a first start) derives one key-encryption key per (location, version);
 * each object's data key is wrapped by its location's current KEK. Rotation adds a version and
 * re-wraps data keys (32 bytes each): old versions stay derivable, so nothing is ever unreadable.
 * Rotating the master itself (ENCRYPTION_KEY new, ENCRYPTION_KEY_PREVIOUS old) adds versions
 * derived from the new master; MasterRotation then re-wraps every data key and label under them,
 * after which the old master is no longer needed.
 */
export class Keyring {
  private keys: MasterKeys | undefined;
  private readonly repo: KeyringRepository;

  constructor(
    db: Kysely<DB>,
    private readonly source: KeySource,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.repo = new KeyringRepository(db);
  }

  private get masters(): MasterKeys {
    if (!this.keys) throw new Error('the keyring is not started');
    return this.keys;
  }

  get fingerprint(): string {
    return this.masters.currentFingerprint;
  }

  async start(): Promise<void> {
    const keys = (this.keys = new MasterKeys(this.source, this.logger));
    const fp = keys.currentFingerprint;
    const prev = keys.previousFingerprint;
    const now = this.clock.now();
    let meta = await this.repo.meta();
    if (!meta) {
      // A new catalog (or one rebuilt by recover): objects may still be under the previous master.
      // Instances starting together on a new shared database race here: the first one's claim
      // holds, and the others are checked against it below like any later start.
      await this.repo.claimFingerprint(fp, now, prev ?? null);
      meta = await this.repo.meta();
      if (!meta) throw new Error('the master key fingerprint could not be recorded');
      if (meta.master_fingerprint === fp && meta.previous_fingerprint === (prev ?? null)) {
        await this.repo.ensureFirstVersions(now);
        if (prev) for (const location of LOCATIONS) await this.ensureCurrentUnderMaster(location);
        return;
      }
    }
    await this.repo.ensureFirstVersions(now);
    if (meta.master_fingerprint === fp) return this.resume(meta.previous_fingerprint, prev);
    if (prev !== undefined && prev === meta.master_fingerprint) {
      const left = meta.previous_fingerprint ? await this.repo.countNotUnderMaster(prev) : 0;
      if (left > 0) {
        throw new KeyMismatchError(
          `the last master key rotation (from fingerprint ${meta.previous_fingerprint} to ${prev}) has not finished: ` +
            `${left} data keys are still wrapped under ${meta.previous_fingerprint}; finish it first (ENCRYPTION_KEY ` +
            `= the key with fingerprint ${prev}, ENCRYPTION_KEY_PREVIOUS = the one with ${meta.previous_fingerprint})`,
        );
      }
      await this.repo.beginMasterRotation(fp, prev, now);
      this.logger.warn('storage.master_rotation_started', {
        from: prev,
        to: fp,
        hint: 'keep ENCRYPTION_KEY_PREVIOUS set until storage.master_rotation_finished is logged',
      });
      return;
    }
    throw new KeyMismatchError(
      `the master key (fingerprint ${fp}) is not the one this data directory was written with ` +
        `(fingerprint ${meta.master_fingerprint})` +
        (prev ? `, nor is ENCRYPTION_KEY_PREVIOUS (fingerprint ${prev})` : '') +
        `: set ENCRYPTION_KEY or ENCRYPTION_KEY_FILE to the original key; to rotate it, give the new key there ` +
        `and the original as ENCRYPTION_KEY_PREVIOUS (or ENCRYPTION_KEY_PREVIOUS_FILE)`,
    );
  }

  /** Same master as last time: a rotation still running goes on only with the key it started from. */
  private async resume(rotatingFrom: string | null, prev: string | undefined): Promise<void> {
    if (!rotatingFrom) {
      if (prev)
        this.logger.warn('storage.previous_master_key_unused', {
          previous: prev,
          hint: 'no master key rotation is running: ENCRYPTION_KEY_PREVIOUS is not needed, remove it',
        });
      return;
    }
    if (prev === rotatingFrom) return;
    const left = await this.repo.countNotUnderMaster(this.masters.currentFingerprint);
    if (left === 0) return this.finishRotation(rotatingFrom);
    throw new KeyMismatchError(
      `a master key rotation is not finished: ${left} data keys are still wrapped under the master key with ` +
        `fingerprint ${rotatingFrom}; start with ENCRYPTION_KEY_PREVIOUS (or ENCRYPTION_KEY_PREVIOUS_FILE) set to ` +
        `that key until /readyz says it is no longer needed` +
        (prev ? ` (the ENCRYPTION_KEY_PREVIOUS given has fingerprint ${prev})` : ''),
    );
  }

  /** Nothing is left under the previous master: it is no longer needed, and the log says so. */
  async finishRotation(from: string): Promise<void> {
    await this.repo.finishMasterRotation();
    this.logger.warn('storage.master_rotation_finished', {
      from,
      to: this.masters.currentFingerprint,
      hint: `the previous master key (fingerprint ${from}) is no longer needed: remove ENCRYPTION_KEY_PREVIOUS; back up the new key`,
    });
  }

  /** The master a rotation re-wraps away from (undefined: none running). */
  async rotatingFrom(): Promise<string | undefined> {
    return (await this.repo.meta())?.previous_fingerprint ?? undefined;
  }

  async masterStatus(): Promise<MasterStatus> {
    const fingerprint = this.masters.currentFingerprint;
    const from = await this.rotatingFrom();
    if (!from) return { fingerprint, previous_key: 'not needed' };
    const left = await this.repo.countNotUnderMaster(fingerprint);
    return {
      fingerprint,
      rotating_from: from,
      left,
      previous_key: `needed: ${left} data keys still to re-wrap under the new master key`,
    };
  }

  /** During a rotation, `location`'s current version must be one the current master derives. */
  private async ensureCurrentUnderMaster(location: Location): Promise<void> {
    const fp = this.masters.currentFingerprint;
    const { version, master_fingerprint } = await this.repo.current(location);
    if (master_fingerprint !== fp) await this.repo.addVersion(location, version + 1, this.clock.now(), fp);
  }

  async currentKekId(location: Location): Promise<string> {
    const { version, master_fingerprint } = await this.repo.current(location);
    return kekIdOf(location, version, master_fingerprint);
  }

  async wrapFor(location: Location, dek: Buffer): Promise<WrappedKey> {
    const kekId = await this.currentKekId(location);
    return { kekId, wrapped: this.masters.wrap(kekId, dek) };
  }

  /**
   * Makes `kekId`'s version known (and the versions before it), so that a catalog rebuilt from
   * objects' labels never makes a version current again that data keys were wrapped past.
   */
  async adopt(kekId: string): Promise<void> {
    const { location, version, master } = parseKekId(kekId);
    const loc = location as Location;
    await this.repo.ensureVersions(loc, version, this.clock.now());
    if (master) await this.repo.tagVersion(loc, version, master);
    if (await this.rotatingFrom()) await this.ensureCurrentUnderMaster(loc);
  }

  unwrap(kekId: string, wrapped: Buffer): Buffer {
    return this.masters.unwrap(kekId, wrapped);
  }

  /**
   * A new KEK version for each location given, then every data key at those locations is
   * re-wrapped under it, a few hundred rows per transaction; reads keep working throughout.
   * Not while the master key rotates: that re-wraps the objects' labels too, and this only rows.
   */
  async rotate(
    locations: readonly Location[] = LOCATIONS,
  ): Promise<{ versions: Record<string, number>; rewrapped: number }> {
    const from = await this.rotatingFrom();
    if (from)
      throw AppError.conflict(
        `the master key is being rotated (from fingerprint ${from}): rotate the location keys once it has finished`,
      );
    const versions: Record<string, number> = {};
    const targets: Record<string, string> = {};
    for (const location of locations) {
      const current = await this.repo.current(location);
      const next = current.version + 1;
      await this.repo.addVersion(location, next, this.clock.now(), current.master_fingerprint);
      versions[location] = next;
      targets[location] = kekIdOf(location, next, current.master_fingerprint);
    }
    let rewrapped = 0;
    for (const location of locations) {
      const target = targets[location]!;
      for (;;) {
        const rows = await this.repo.keysNotUnder(location, target, 500);
        if (rows.length === 0) break;
        await this.repo.rewrap(
          location,
          rows.map((r) => ({
            id: r.id,
            was: r.kek_id!,
            kek_id: target,
            wrapped_key: this.masters.wrap(target, this.unwrap(r.kek_id!, r.wrapped_key!)),
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
