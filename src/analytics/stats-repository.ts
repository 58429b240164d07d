import { sql, type Kysely } from 'kysely';
import type { BucketResolution, DB, DatasetStatsRow } from '../db';

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

  async rolledUntil(): Promise<number> {
    const r = await this.db
      .selectFrom('bucket_rollup')
      .select('rolled_until')
      .where('id', '=', 1)
      .executeTakeFirstOrThrow();
    return r.rolled_until;
  }

  /**
   * Adds every minute bucket in [rolled_until, until) to its hour and day, and moves
   * rolled_until, in one transaction. Returns the minute buckets rolled up.
   */
  async rollUp(until: number): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const { rolled_until: from } = await trx
        .selectFrom('bucket_rollup')
        .select('rolled_until')
        .where('id', '=', 1)
        .executeTakeFirstOrThrow();
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

  async pruneEventIds(before: number): Promise<number> {
    const r = await this.db.deleteFrom('event_ids').where('seen_at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  deadLetters(limit: number, offset: number) {
    return this.db.selectFrom('dead_letters').selectAll().orderBy('id', 'desc').limit(limit).offset(offset).execute();
  }

  async deadLetterCount(): Promise<number> {
    const r = await this.db
      .selectFrom('dead_letters')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }
}
