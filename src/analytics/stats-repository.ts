import { sql, type Kysely } from 'kysely';
import { type BucketResolution, type DB, type DatasetStatsRow, type DatasetStatsTable, bulkWrite } from '../db';
import { chunks } from '../platform';
import type { BucketDelta } from './aggregate';
import { HALF_LIVES } from './decay';

/** Ids per `in (...)` list: well under SQLite's 32,766 bound parameters. */
const IDS_PER_QUERY = 2_000;

export interface BucketRow {
  bucket_start: number;
  reads: number;
  writes: number;
  scans: number;
  bytes: number;
}

export class StatsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  get(datasetId: number): Promise<DatasetStatsRow | undefined> {
    return this.db.selectFrom('dataset_stats').selectAll().where('dataset_id', '=', datasetId).executeTakeFirst();
  }

  buckets(datasetId: number, res: BucketResolution, from: number, to: number): Promise<BucketRow[]> {
    return this.db
      .selectFrom('access_buckets')
      .select(['bucket_start', 'reads', 'writes', 'scans', 'bytes'])
      .where('dataset_id', '=', datasetId)
      .where('res', '=', res)
      .where('bucket_start', '>=', from)
      .where('bucket_start', '<', to)
      .orderBy('bucket_start')
      .execute();
  }

  /** Minute buckets before this time are already in their hour and day. */
  async rolledUntil(db: Kysely<DB> = this.db): Promise<number> {
    const r = await db.selectFrom('bucket_rollup').select('rolled_until').where('id', '=', 1).executeTakeFirstOrThrow();
    return r.rolled_until;
  }

  /**
   * Adds every minute bucket in [rolled_until, until) to its hour and day, and moves
   * rolled_until, in one transaction. Returns the minute buckets rolled up.
   */
  async rollUp(until: number): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const from = await this.rolledUntil(trx);
      if (until <= from) return 0;
      let rolled = 0;
      for (const [res, size] of [
        ['h', 3_600_000],
        ['d', 86_400_000],
      ] as const) {
        const r = await sql`
          insert into access_buckets (dataset_id, res, bucket_start, reads, writes, scans, bytes)
          select dataset_id, ${res}, bucket_start - (bucket_start % ${size}), sum(reads), sum(writes), sum(scans), sum(bytes)
          from access_buckets
          where res = 'm' and bucket_start >= ${from} and bucket_start < ${until}
          group by dataset_id, bucket_start - (bucket_start % ${size})
          on conflict (dataset_id, res, bucket_start) do update set
            reads = reads + excluded.reads, writes = writes + excluded.writes,
            scans = scans + excluded.scans, bytes = bytes + excluded.bytes`.execute(trx);
        if (res === 'h') rolled = Number(r.numAffectedRows ?? 0);
      }
      await trx.updateTable('bucket_rollup').set({ rolled_until: until }).where('id', '=', 1).execute();
      return rolled;
    });
  }

  /** Minute buckets go only once the rollup has passed them, whatever their age. */
  async pruneBuckets(res: BucketResolution, before: number): Promise<number> {
    const limit = res === 'm' ? Math.min(before, await this.rolledUntil()) : before;
    const r = await this.db
      .deleteFrom('access_buckets')
      .where('res', '=', res)
      .where('bucket_start', '<', limit)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** Which of `ids` are datasets that exist (now, in `db`'s transaction). */
  async existingDatasets(db: Kysely<DB>, ids: readonly number[]): Promise<Set<number>> {
    const out = new Set<number>();
    for (const part of chunks(ids, IDS_PER_QUERY)) {
      const rows = await db.selectFrom('datasets').select('id').where('id', 'in', part).execute();
      for (const r of rows) out.add(r.id);
    }
    return out;
  }

  /** Adds per-dataset deltas (see aggregate.ts) to the statistics, creating rows as needed. */
  async addStats(db: Kysely<DB>, rows: readonly DatasetStatsTable[]): Promise<void> {
    await bulkWrite(
      db,
      STATS_HEAD,
      STATS_TAIL,
      STATS_COLUMNS.length,
      rows.map((r) => STATS_COLUMNS.map((c) => r[c])),
    );
  }

  async addBuckets(db: Kysely<DB>, rows: readonly BucketDelta[]): Promise<void> {
    await bulkWrite(
      db,
      BUCKETS_HEAD,
      BUCKETS_TAIL,
      BUCKET_COLUMNS.length,
      rows.map((r) => BUCKET_COLUMNS.map((c) => r[c])),
    );
  }
}

// The merges below are hand-written SQL for speed (one multi-row upsert per chunk, no read of the
// old rows); scalar max()/min()/pow() are SQLite's spelling (PostgreSQL: greatest/least/power).
const STATS_COLUMNS = [
  'dataset_id',
  'reads',
  'writes',
  'scans',
  'bytes_read',
  'bytes_written',
  'first_access',
  'last_access',
  'decay_at',
  'decay_1h',
  'decay_1d',
  'decay_1w',
  'decay_30d',
] as const satisfies ReadonlyArray<keyof DatasetStatsTable>;
const STATS_HEAD = `insert into dataset_stats (${STATS_COLUMNS.join(', ')})`;
/** The merge of decayed sums (see decay.ts) done in SQL: no read of the old row needed. */
const decayMerge = (col: string, halfLifeMs: number): string =>
  `${col} = ${col} * pow(2, (decay_at - max(decay_at, excluded.decay_at)) / ${halfLifeMs}.0)` +
  ` + excluded.${col} * pow(2, (excluded.decay_at - max(decay_at, excluded.decay_at)) / ${halfLifeMs}.0)`;
const STATS_TAIL = `on conflict (dataset_id) do update set
  reads = reads + excluded.reads,
  writes = writes + excluded.writes,
  scans = scans + excluded.scans,
  bytes_read = bytes_read + excluded.bytes_read,
  bytes_written = bytes_written + excluded.bytes_written,
  first_access = min(coalesce(first_access, excluded.first_access), excluded.first_access),
  last_access = max(coalesce(last_access, excluded.last_access), excluded.last_access),
  ${decayMerge('decay_1h', HALF_LIVES['1h'])},
  ${decayMerge('decay_1d', HALF_LIVES['1d'])},
  ${decayMerge('decay_1w', HALF_LIVES['1w'])},
  ${decayMerge('decay_30d', HALF_LIVES['30d'])},
  decay_at = max(decay_at, excluded.decay_at)`;

const BUCKET_COLUMNS = [
  'dataset_id',
  'res',
  'bucket_start',
  'reads',
  'writes',
  'scans',
  'bytes',
] as const satisfies ReadonlyArray<keyof BucketDelta>;
const BUCKETS_HEAD = `insert into access_buckets (${BUCKET_COLUMNS.join(', ')})`;
const BUCKETS_TAIL = `on conflict (dataset_id, res, bucket_start) do update set
  reads = reads + excluded.reads,
  writes = writes + excluded.writes,
  scans = scans + excluded.scans,
  bytes = bytes + excluded.bytes`;
