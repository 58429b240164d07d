import type { Kysely, Selectable } from 'kysely';
import { LOCATIONS, type DB, type Location } from '../db';

/** A data key to re-wrap: the dataset and the key as stored. */
export type StoredKey = Pick<Selectable<DB['datasets']>, 'id' | 'kek_id' | 'wrapped_key'>;

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

  /**
   * Records `fingerprint` unless one is recorded already, and returns the one recorded: instances
   * starting together on a new shared database agree on the first, and the others compare to it.
   */
  async claimFingerprint(fingerprint: string, now: number): Promise<string> {
    await this.db
      .insertInto('key_meta')
      .values({ id: 1, master_fingerprint: fingerprint, created_at: now })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    return (await this.fingerprint()) ?? fingerprint;
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
    const r = await this.db
      .selectFrom('kek_versions')
      .select((eb) => eb.fn.max('version').as('v'))
      .where('location', '=', location)
      .executeTakeFirst();
    return r?.v ?? 1;
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

  async addVersion(location: Location, version: number, now: number): Promise<void> {
    await this.db.insertInto('kek_versions').values({ location, version, created_at: now }).execute();
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
