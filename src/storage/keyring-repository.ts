import type { Kysely, Selectable } from 'kysely';
import { LOCATIONS, type DB, type Location } from '../db';

/** A data key to re-wrap: the dataset and the key as stored. */
export type StoredKey = Pick<Selectable<DB['datasets']>, 'id' | 'kek_id' | 'wrapped_key'>;

/** Which master the data directory is under, and the one a rotation started from. */
export type KeyMeta = Pick<Selectable<DB['key_meta']>, 'master_fingerprint' | 'previous_fingerprint'>;

/** A location's current KEK version and the master that derives it. */
export type CurrentVersion = Pick<Selectable<DB['kek_versions']>, 'version' | 'master_fingerprint'>;

/** The keyring's SQL: the master key's fingerprint, the KEK versions, and the data keys they wrap. */
export class KeyringRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async fingerprint(): Promise<string | undefined> {
    const meta = await this.db
      .selectFrom('key_meta')
      .select('master_fingerprint')
      .where('id', '=', 1)
      .executeTakeFirst();
    return meta?.master_fingerprint;
  }

  meta(): Promise<KeyMeta | undefined> {
    return this.db
      .selectFrom('key_meta')
      .select(['master_fingerprint', 'previous_fingerprint'])
      .where('id', '=', 1)
      .executeTakeFirst();
  }

  /**
   * Records `fingerprint` (and the previous master's) unless one is recorded already: instances
   * starting together on a new shared database agree on the first; read `meta()` for the outcome.
   */
  async claimFingerprint(fingerprint: string, now: number, previous: string | null = null): Promise<void> {
    await this.db
      .insertInto('key_meta')
      .values({ id: 1, master_fingerprint: fingerprint, previous_fingerprint: previous, created_at: now })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }

  /**
   * In one transaction: the data directory is now under master `to`, re-wrapping away from `from`,
   * and each location gets a new KEK version derived from `to`, so every new wrapping uses it.
   */
  async beginMasterRotation(to: string, from: string, now: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('key_meta')
        .set({ master_fingerprint: to, previous_fingerprint: from })
        .where('id', '=', 1)
        .execute();
      const repo = new KeyringRepository(trx);
      for (const location of LOCATIONS) {
        const { version } = await repo.current(location);
        await repo.addVersion(location, version + 1, now, to);
      }
    });
  }

  /** Nothing is wrapped under the previous master any more. */
  async finishMasterRotation(): Promise<void> {
    await this.db.updateTable('key_meta').set({ previous_fingerprint: null }).where('id', '=', 1).execute();
  }

  /** Data keys wrapped under a master other than `fingerprint`'s (ids that do not name it). */
  notUnderMaster(fingerprint: string, afterId: number, limit: number): Promise<Array<{ id: number }>> {
    return this.db
      .selectFrom('datasets')
      .select('id')
      .where('kek_id', 'is not', null)
      .where('kek_id', 'not like', `%@${fingerprint}`)
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  async countNotUnderMaster(fingerprint: string): Promise<number> {
    const r = await this.db
      .selectFrom('datasets')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('kek_id', 'is not', null)
      .where('kek_id', 'not like', `%@${fingerprint}`)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Stores one re-wrapped key, only if neither the key nor the object changed meanwhile. */
  async rewrapOne(k: {
    id: number;
    was: string;
    objectId: string | null;
    kek_id: string;
    wrapped_key: Buffer;
  }): Promise<boolean> {
    let q = this.db
      .updateTable('datasets')
      .set({ kek_id: k.kek_id, wrapped_key: k.wrapped_key })
      .where('id', '=', k.id)
      .where('kek_id', '=', k.was);
    q = k.objectId === null ? q.where('object_id', 'is', null) : q.where('object_id', '=', k.objectId);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Version 1 for every location that has none yet. */
  async ensureFirstVersions(now: number): Promise<void> {
    await this.db
      .insertInto('kek_versions')
      .values(LOCATIONS.map((location) => ({ location, version: 1, created_at: now })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  async currentVersion(location: Location): Promise<number> {
    return (await this.current(location)).version;
  }

  async current(location: Location): Promise<CurrentVersion> {
    const r = await this.db
      .selectFrom('kek_versions')
      .select(['version', 'master_fingerprint'])
      .where('location', '=', location)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    return r ?? { version: 1, master_fingerprint: null };
  }

  /** Versions 1..`version` of `location`, those missing added (a catalog rebuilt from labels). */
  async ensureVersions(location: Location, version: number, now: number): Promise<void> {
    const values = Array.from({ length: version }, (_, i) => ({ location, version: i + 1, created_at: now }));
    await this.db
      .insertInto('kek_versions')
      .values(values)
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  /** Records which master derives a version adopted from an object's label. */
  async tagVersion(location: Location, version: number, master: string): Promise<void> {
    await this.db
      .updateTable('kek_versions')
      .set({ master_fingerprint: master })
      .where('location', '=', location)
      .where('version', '=', version)
      .where('master_fingerprint', 'is', null)
      .execute();
  }

  async addVersion(location: Location, version: number, now: number, master: string | null = null): Promise<void> {
    await this.db
      .insertInto('kek_versions')
      .values({ location, version, created_at: now, master_fingerprint: master })
      .execute();
  }

  /** Up to `limit` data keys at `location` not yet wrapped by `kekId`. */
  keysNotUnder(location: Location, kekId: string, limit: number): Promise<StoredKey[]> {
    return this.db
      .selectFrom('datasets')
      .select(['id', 'kek_id', 'wrapped_key'])
      .where('location', '=', location)
      .where('kek_id', 'is not', null)
      .where('kek_id', '!=', kekId)
      .limit(limit)
      .execute();
  }

  /**
   * Stores re-wrapped keys in one transaction, each only if nothing changed its row meanwhile (an
   * upload or a move re-wraps on its own).
   */
  async rewrap(
    location: Location,
    keys: ReadonlyArray<{ id: number; was: string; kek_id: string; wrapped_key: Buffer }>,
  ): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const k of keys) {
        await trx
          .updateTable('datasets')
          .set({ kek_id: k.kek_id, wrapped_key: k.wrapped_key })
          .where('id', '=', k.id)
          .where('kek_id', '=', k.was)
          .where('location', '=', location)
          .execute();
      }
    });
  }

  /** How many objects each key wraps, by location. */
  async keyCounts(): Promise<Array<{ location: Location; kek_id: string | null; n: number }>> {
    const rows = await this.db
      .selectFrom('datasets')
      .select(['location', 'kek_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('kek_id', 'is not', null)
      .groupBy(['location', 'kek_id'])
      .execute();
    return rows.map((r) => ({ ...r, n: Number(r.n) }));
  }
}
