import { sql, type Kysely, type Selectable } from 'kysely';
import type { DB, Location, Tier } from '../db';

const GB = 1024 ** 3;
/** A dataset's size in bytes as the cost model sees it (content if stored, else declared size; see sizeBytesOf). */
const SIZE_SQL = sql<number>`coalesce(d.content_bytes, d.size_gb * ${GB})`;

/** A dataset as the replay starts it. */
export type HistoryDataset = Pick<Selectable<DB['datasets']>, 'id' | 'name' | 'created_at' | 'location' | 'tier'> & {
  size_bytes: number;
};

/** One access bucket as the replay spreads it into events. */
export type HistoryBucket = Pick<
  Selectable<DB['access_buckets']>,
  'dataset_id' | 'bucket_start' | 'reads' | 'writes' | 'scans' | 'bytes'
>;

/** The recorded history the what-if replay rebuilds a trace from. */
export class HistoryRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** The `limit` largest datasets (they carry most of the cost), with what the replay needs. */
  largestDatasets(limit: number): Promise<HistoryDataset[]> {
    return sql<HistoryDataset>`
      select d.id, d.name, ${SIZE_SQL} as size_bytes, d.created_at, d.location, d.tier
      from datasets d order by ${SIZE_SQL} desc, d.id limit ${limit}`
      .execute(this.db)
      .then((r) => r.rows);
  }

  async datasetCount(): Promise<number> {
    const r = await this.db
      .selectFrom('datasets')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Where each of these datasets was at `at`: the source of its first completed move after then. */
  async placementsAt(ids: readonly number[], at: number): Promise<Map<number, { location: Location; tier: Tier }>> {
    const out = new Map<number, { location: Location; tier: Tier }>();
    for (let i = 0; i < ids.length; i += 900) {
      const rows = await this.db
        .selectFrom('moves')
        .select(['dataset_id', 'from_location', 'from_tier', 'id'])
        .where('dataset_id', 'in', ids.slice(i, i + 900))
        .where('state', '=', 'done')
        .where('finished_at', '>=', at)
        .orderBy('id')
        .execute();
      for (const r of rows)
        if (!out.has(r.dataset_id)) out.set(r.dataset_id, { location: r.from_location, tier: r.from_tier });
    }
    return out;
  }

  /** Access buckets of these datasets at one resolution in [from, to), in time order. */
  async buckets(ids: readonly number[], res: 'm' | 'h' | 'd', from: number, to: number): Promise<HistoryBucket[]> {
    const out: HistoryBucket[] = [];
    for (let i = 0; i < ids.length; i += 900) {
      out.push(
        ...(await this.db
          .selectFrom('access_buckets')
          .select(['dataset_id', 'bucket_start', 'reads', 'writes', 'scans', 'bytes'])
          .where('dataset_id', 'in', ids.slice(i, i + 900))
          .where('res', '=', res)
          .where('bucket_start', '>=', from)
          .where('bucket_start', '<', to)
          .execute()),
      );
    }
    return out.sort((a, b) => a.bucket_start - b.bucket_start);
  }

  /** Up to when minute buckets have been rolled up into hours. */
  async rolledUntil(): Promise<number> {
    const r = await this.db.selectFrom('bucket_rollup').select('rolled_until').where('id', '=', 1).executeTakeFirst();
    return r?.rolled_until ?? 0;
  }
}
