import type { Kysely } from 'kysely';
import { portable } from './portable';

/**
 * Minute buckets are rolled up into hour and day buckets by a periodic job instead of writing
 * all three resolutions for every batch. `rolled_until`: every minute bucket that starts before
 * it has been added to its hour and day (later, late events for those minutes are added to all
 * three resolutions directly).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = portable(db);
  await db.schema
    .createTable('bucket_rollup')
    .addColumn('id', t.int, (c) => c.primaryKey())
    .addColumn('rolled_until', t.int, (c) => c.notNull())
    .execute();
  await db
    .insertInto('bucket_rollup' as never)
    .values({ id: 1, rolled_until: 0 })
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('bucket_rollup').execute();
}
