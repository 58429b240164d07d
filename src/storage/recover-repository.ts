import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import type { DB } from '../db';

type DatasetsTable = DB['datasets'];

/** What recovery compares with the stores: a dataset's name, placement and object. */
export type CatalogEntry = Pick<
  Selectable<DatasetsTable>,
  'id' | 'name' | 'tier' | 'location' | 'object_id' | 'content_sha256'
>;

/** A dataset put back from an object's label. */
export type RecoveredDataset = Required<
  Pick<
    Insertable<DatasetsTable>,
    | 'id'
    | 'name'
    | 'tags'
    | 'tier'
    | 'location'
    | 'size_gb'
    | 'created_at'
    | 'updated_at'
    | 'object_id'
    | 'content_bytes'
    | 'content_sha256'
    | 'wrapped_key'
    | 'kek_id'
    | 'content_updated_at'
  >
>;

/** A row pointed at an object found in a store (its placement, content and key). */
export type AttachedContent = Required<
  Pick<
    Updateable<DatasetsTable>,
    | 'tier'
    | 'location'
    | 'object_id'
    | 'content_bytes'
    | 'content_sha256'
    | 'wrapped_key'
    | 'kek_id'
    | 'content_updated_at'
    | 'updated_at'
  >
>;

/** Recovery's SQL: the catalog as it stands, and the repairs it decides. */
export class RecoverRepository {
  constructor(private readonly db: Kysely<DB>) {}

  catalog(): Promise<CatalogEntry[]> {
    return this.db
      .selectFrom('datasets')
      .select(['id', 'name', 'tier', 'location', 'object_id', 'content_sha256'])
      .orderBy('id')
      .execute();
  }

  async insert(row: RecoveredDataset): Promise<void> {
    await this.db.insertInto('datasets').values(row).execute();
  }

  async attach(id: number, content: AttachedContent): Promise<void> {
    await this.db
      .updateTable('datasets')
      .set({ ...content, damaged_at: null, damage: null })
      .where('id', '=', id)
      .execute();
  }

  /** A row whose object is in no store: catalog-only from now on, with why kept as its damage. */
  async detach(id: number, damage: string, now: number): Promise<void> {
    await this.db
      .updateTable('datasets')
      .set({
        object_id: null,
        content_bytes: null,
        content_sha256: null,
        wrapped_key: null,
        kek_id: null,
        damaged_at: now,
        damage,
        updated_at: now,
      })
      .where('id', '=', id)
      .execute();
  }
}
