import path from 'node:path';
import { sql } from 'kysely';
import { Database } from '../src/db/database';
import { createLogger } from '../src/platform/logger';
import { type DatasetPageFilter, PagesRepository } from '../src/web/pages/repository';
import { tempDir } from './support/harness';
import { DATABASES, freshPostgresUrl } from './support/postgres';

const T0 = Date.UTC(2026, 2, 1);
const N = 90;
const TIERS = ['HOT', 'WARM', 'COLD'] as const;
const QUIET = {
  scans: 0,
  bytes_read: 0,
  bytes_written: 0,
  decay_at: T0,
  decay_1h: 0,
  decay_1d: 0,
  decay_1w: 0,
  decay_30d: 0,
  large_reads: 0,
  large_bytes: 0,
  large_bursts: 0,
  large_gap_sq: 0,
  phase_reads: 0,
  phase_month_cos: 0,
  phase_month_sin: 0,
  phase_week_cos: 0,
  phase_week_sin: 0,
  phase_month2_cos: 0,
  phase_month2_sin: 0,
  phase_week2_cos: 0,
  phase_week2_sin: 0,
};

/** Accesses per dataset: none for every 5th (no statistics row), 0 for every 7th (a row summing to 0), ties elsewhere. */
function accessesOf(id: number): number | undefined {
  if (id % 5 === 0) return undefined;
  if (id % 7 === 0) return 0;
  return (id * 37) % 11;
}

/** Last access per dataset with statistics: none (null) for every 11th, else a few seconds after T0, with ties. */
function lastAccessOf(id: number): number | null {
  if (id % 11 === 0) return null;
  return T0 + ((id * 53) % 13) * 1000;
}

describe.each(DATABASES)('the datasets page sorted by accesses, on %s', (kind) => {
  let database: Database;
  let repo: PagesRepository;

  beforeAll(async () => {
    database = new Database({
      path: path.join(tempDir(), 'db.sqlite'),
      url: kind === 'postgres' ? await freshPostgresUrl() : undefined,
      synchronous: 'NORMAL',
      logger: createLogger('silent'),
    });
    await database.start();
    const ids = Array.from({ length: N }, (_, i) => i + 1);
    await database.db
      .insertInto('datasets')
      .values(
        ids.map((id) => ({
          id,
          name: `d${String(id).padStart(3, '0')}`,
          tags: '[]',
          size_gb: 1,
          tier: TIERS[id % 3]!,
          location: 'PRIVATE' as const,
          created_at: T0,
          updated_at: T0,
        })),
      )
      .execute();
    const stats = ids.filter((id) => accessesOf(id) !== undefined);
    await database.db
      .insertInto('dataset_stats')
      .values(
        stats.map((id) => {
          const n = accessesOf(id)!;
          return {
            ...QUIET,
            dataset_id: id,
            reads: n - Math.floor(n / 3),
            writes: Math.floor(n / 3),
            last_access: lastAccessOf(id),
          };
        }),
      )
      .execute();
    await database.db
      .insertInto('dataset_policies')
      .values(ids.filter((id) => id % 4 === 0).map((id) => ({ dataset_id: id, mode: 'never-tier', updated_at: T0 })))
      .execute();
    repo = new PagesRepository(database.db);
  });
  afterAll(async () => {
    await database?.stop();
  });

  /** Every dataset the filter keeps, in the page's order: the sort's value (none counts as 0), then id. */
  function expected(f: Pick<DatasetPageFilter, 'order' | 'tier' | 'mode'>, sort: 'accesses' | 'last_access'): number[] {
    const keep = Array.from({ length: N }, (_, i) => i + 1).filter(
      (id) =>
        (!f.tier || TIERS[id % 3] === f.tier) && (!f.mode || (f.mode === 'never-tier' ? id % 4 === 0 : id % 4 !== 0)),
    );
    const key = (id: number): number =>
      sort === 'accesses' ? (accessesOf(id) ?? 0) : accessesOf(id) === undefined ? 0 : (lastAccessOf(id) ?? 0);
    const sign = f.order === 'asc' ? 1 : -1;
    return keep.sort((a, b) => sign * (key(a) - key(b) || a - b));
  }

  test.each([
    ['asc', {}],
    ['desc', {}],
    ['desc', { tier: 'WARM' as const }],
    ['asc', { tier: 'COLD' as const, mode: 'never-tier' as const }],
    ['desc', { mode: 'auto' as const }],
  ] as const)(
    'when paged %s with filter %j, then every page holds the next datasets by accesses and id, across those never accessed',
    async (order, filter) => {
      const all = expected({ order, ...filter }, 'accesses');
      for (const limit of [7, 25]) {
        for (let offset = 0; offset <= all.length + limit; offset += limit) {
          const page = await repo.datasetPage({ sort: 'accesses', order, limit, offset, ...filter });
          expect({ offset, limit, ids: page.rows.map((r) => r.id) }).toEqual({
            offset,
            limit,
            ids: all.slice(offset, offset + limit),
          });
          expect(page.rows.map((r) => Number(r.accesses))).toEqual(
            all.slice(offset, offset + limit).map((id) => accessesOf(id) ?? 0),
          );
          expect(page.total).toBe(all.length);
        }
      }
    },
  );

  test.each([
    ['asc', {}],
    ['desc', {}],
    ['desc', { tier: 'WARM' as const }],
    ['asc', { tier: 'COLD' as const, mode: 'never-tier' as const }],
  ] as const)(
    'when paged %s by last access with filter %j, then every page holds the next datasets by last access and id, across those never accessed',
    async (order, filter) => {
      const all = expected({ order, ...filter }, 'last_access');
      for (const limit of [7, 25]) {
        for (let offset = 0; offset <= all.length + limit; offset += limit) {
          const page = await repo.datasetPage({ sort: 'last_access', order, limit, offset, ...filter });
          expect({ offset, limit, ids: page.rows.map((r) => r.id) }).toEqual({
            offset,
            limit,
            ids: all.slice(offset, offset + limit),
          });
          expect(page.total).toBe(all.length);
        }
      }
    },
  );

  test('when the page is sorted by last access, then the database has the index it reads the page from', async () => {
    const q =
      kind === 'postgres'
        ? sql<{ name: string }>`select indexname as name from pg_indexes where tablename = 'dataset_stats'`
        : sql<{ name: string }>`select name from sqlite_master where type = 'index' and tbl_name = 'dataset_stats'`;
    expect((await q.execute(database.db)).rows.map((r) => r.name)).toContain('dataset_stats_last_access');
  });
});
