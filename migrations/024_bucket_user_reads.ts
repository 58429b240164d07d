import { sql, type Kysely } from 'kysely';
import { portable } from './portable';

/**
 * Time buckets count their non-scan reads, so the roll-up, which passes every minute bucket once,
 * sums the read phases (023) instead of the stream applier summing them per read. Buckets written
 * before this start at 0: their reads' phases were already added to `dataset_stats` as they were
 * applied, so none is counted twice.
 *
 * And the roll-up claims minutes before it rolls them: `bucket_rollup` row 2 is the claim (events
 * of a minute before it are late: batches add them to their hour and day themselves), row 1 stays
 * what was rolled up. The claim starts where the roll-up is.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = portable(db);
  await db.schema
    .alterTable('access_buckets')
    .addColumn('user_reads', t.int, (c) => c.notNull().defaultTo(0))
    .execute();
  await sql`insert into bucket_rollup (id, rolled_until) select 2, rolled_until from bucket_rollup where id = 1`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`delete from bucket_rollup where id = 2`.execute(db);
  await db.schema.alterTable('access_buckets').dropColumn('user_reads').execute();
}
