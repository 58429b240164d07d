import { sql, type Kysely } from 'kysely';
import { dialectOf } from '../src/db/dialect';
import { portable } from './portable';

/**
 * A fourth decayed access sum, with a 30-day half-life: the tiering forecast looks a month
 * ahead, and monthly patterns (month-end reporting) vanish from a 1-week sum before they recur.
 * Existing rows start from 0 and fill as events arrive.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Raw on SQLite as it always ran there; the builder spells the same column for PostgreSQL.
  if (dialectOf(db) === 'sqlite') {
    await sql`alter table dataset_stats add column decay_30d real not null default 0`.execute(db);
    return;
  }
  await db.schema
    .alterTable('dataset_stats')
    .addColumn('decay_30d', portable(db).real, (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('dataset_stats').dropColumn('decay_30d').execute();
}
