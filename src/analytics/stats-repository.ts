import type { Kysely } from 'kysely';
import type { BucketResolution, DB, DatasetStatsRow } from '../db/schema';

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

  async pruneBuckets(res: BucketResolution, before: number): Promise<number> {
    const r = await this.db.deleteFrom('access_buckets').where('res', '=', res).where('bucket_start', '<', before).executeTakeFirst();
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
    const r = await this.db.selectFrom('dead_letters').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }
}
