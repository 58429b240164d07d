import type { Kysely } from 'kysely';
import { portable } from './portable';

/**
 * Time buckets count their non-scan reads, so the roll-up, which passes every minute bucket once,
 * sums the read phases (023) instead of the stream applier summing them per read. Buckets written
 * before this start at 0: their reads' phases were already added to `dataset_stats` as they were
 * applied, so none is counted twice.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = portable(db);
  await db.schema
    .alterTable('access_buckets')
    .addColumn('user_reads', t.int, (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('access_buckets').dropColumn('user_reads').execute();
}
