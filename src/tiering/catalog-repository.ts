import type { Kysely, Selectable } from 'kysely';
import type { DB } from '../db';
import type { PriceCatalog } from './catalog';

/** A stored catalog version, its JSON parsed. */
export type StoredCatalog = Omit<Selectable<DB['catalog_versions']>, 'catalog'> & { catalog: PriceCatalog };

function parsed(r: Selectable<DB['catalog_versions']>): StoredCatalog {
  return { version: r.version, catalog: JSON.parse(r.catalog) as PriceCatalog, created_at: r.created_at, note: r.note };
}

/** The versioned price catalogs: every change is a new version, and decisions name the one they were priced with. */
export class CatalogRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async current(): Promise<StoredCatalog | undefined> {
    const r = await this.db
      .selectFrom('catalog_versions')
      .selectAll()
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    return r && parsed(r);
  }

  async version(version: number): Promise<StoredCatalog | undefined> {
    const r = await this.db
      .selectFrom('catalog_versions')
      .selectAll()
      .where('version', '=', version)
      .executeTakeFirst();
    return r && parsed(r);
  }

  async versions(limit: number): Promise<Omit<StoredCatalog, 'catalog'>[]> {
    return this.db
      .selectFrom('catalog_versions')
      .select(['version', 'created_at', 'note'])
      .orderBy('version', 'desc')
      .limit(limit)
      .execute();
  }

  async add(catalog: PriceCatalog, note: string | null, now: number): Promise<number> {
    const r = await this.db
      .insertInto('catalog_versions')
      .values({ catalog: JSON.stringify(catalog), note, created_at: now })
      .returning('version')
      .executeTakeFirstOrThrow();
    return r.version;
  }
}
