import { sql, type Kysely } from 'kysely';
import { ACTIVE_MOVE_STATES, type DB, type DatasetRow, type Location, type NewDataset, type Tier } from '../db';
import { chunks } from '../platform';

export interface DatasetWithStats extends DatasetRow {
  access_count: number;
  last_access: number | null;
  /** 1 while a move of this dataset has not finished. */
  migrating: number;
}

export type DatasetSort = 'id' | 'name' | 'created_at' | 'size_gb' | 'access_count' | 'last_access';

export interface ListFilter {
  name?: string;
  tier?: Tier;
  location?: Location;
  sort: DatasetSort;
  order: 'asc' | 'desc';
  limit: number;
  offset: number;
}

export type DatasetPatch = Partial<Pick<DatasetRow, 'name' | 'description' | 'tags' | 'size_gb' | 'updated_at'>>;

export class DatasetsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  private withStats() {
    return this.db
      .selectFrom('datasets')
      .leftJoin('dataset_stats', 'dataset_stats.dataset_id', 'datasets.id')
      .selectAll('datasets')
      .select((eb) => [
        eb.fn.coalesce(eb('dataset_stats.reads', '+', eb.ref('dataset_stats.writes')), eb.lit(0)).as('access_count'),
        'dataset_stats.last_access as last_access',
        // A number on both engines (PostgreSQL's exists() is a boolean).
        eb
          .case()
          .when(
            eb.exists(
              eb
                .selectFrom('moves')
                .select('moves.id')
                .whereRef('moves.dataset_id', '=', 'datasets.id')
                .where('moves.state', 'in', ACTIVE_MOVE_STATES),
            ),
          )
          .then(1)
          .else(0)
          .end()
          .as('migrating'),
      ]);
  }

  async insert(row: NewDataset): Promise<number> {
    const r = await this.db.insertInto('datasets').values(row).returning('id').executeTakeFirstOrThrow();
    return r.id;
  }

  /** Many rows at once (benches and imports seed fleets this way), in statements of 500; their ids in order. */
  async insertMany(rows: readonly NewDataset[]): Promise<number[]> {
    const ids: number[] = [];
    for (let i = 0; i < rows.length; i += 500) {
      const got = await this.db
        .insertInto('datasets')
        .values(rows.slice(i, i + 500))
        .returning('id')
        .execute();
      ids.push(...got.map((r) => r.id));
    }
    return ids;
  }

  async get(id: number): Promise<DatasetWithStats | undefined> {
    return this.withStats().where('datasets.id', '=', id).executeTakeFirst();
  }

  async list(f: ListFilter): Promise<{ rows: DatasetWithStats[]; total: number }> {
    let q = this.withStats();
    let c = this.db.selectFrom('datasets').select((eb) => eb.fn.countAll<number>().as('n'));
    if (f.name !== undefined) {
      const pattern = `%${f.name.replace(/[\\%_]/g, (m) => '\\' + m)}%`;
      // lower() on both sides: SQLite's like ignores ASCII case, PostgreSQL's does not.
      q = q.where(sql<boolean>`lower(datasets.name) like lower(${pattern}) escape '\\'`);
      c = c.where(sql<boolean>`lower(datasets.name) like lower(${pattern}) escape '\\'`);
    }
    if (f.tier !== undefined) {
      q = q.where('datasets.tier', '=', f.tier);
      c = c.where('datasets.tier', '=', f.tier);
    }
    if (f.location !== undefined) {
      q = q.where('datasets.location', '=', f.location);
      c = c.where('datasets.location', '=', f.location);
    }
    const sortColumn = {
      id: 'datasets.id',
      name: 'datasets.name',
      created_at: 'datasets.created_at',
      size_gb: 'datasets.size_gb',
      access_count: 'access_count',
      last_access: 'last_access',
    } as const;
    const rows = await q
      // NULLs (a dataset never accessed) sort as the smallest value, as SQLite orders them by default.
      .orderBy(sortColumn[f.sort], (ob) => (f.order === 'asc' ? ob.asc().nullsFirst() : ob.desc().nullsLast()))
      .orderBy('datasets.id', f.order)
      .limit(f.limit)
      .offset(f.offset)
      .execute();
    const { n } = await c.executeTakeFirstOrThrow();
    return { rows, total: Number(n) };
  }

  async update(id: number, patch: DatasetPatch): Promise<boolean> {
    const r = await this.db.updateTable('datasets').set(patch).where('id', '=', id).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async delete(id: number): Promise<boolean> {
    const r = await this.db.deleteFrom('datasets').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Which of these ids exist, and the ids of these names. */
  async resolve(
    ids: readonly number[],
    names: readonly string[],
  ): Promise<{ ids: Set<number>; byName: Map<string, number> }> {
    const found = new Set<number>();
    const byName = new Map<string, number>();
    for (const part of chunks(ids, 2_000)) {
      for (const r of await this.db.selectFrom('datasets').select('id').where('id', 'in', part).execute())
        found.add(r.id);
    }
    for (const part of chunks(names, 2_000)) {
      for (const r of await this.db.selectFrom('datasets').select(['id', 'name']).where('name', 'in', part).execute())
        byName.set(r.name, r.id);
    }
    return { ids: found, byName };
  }
}
