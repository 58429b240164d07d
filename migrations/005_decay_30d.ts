import { sql, type Kysely } from 'kysely';

/**
 * A fourth decayed access sum, with a 30-day half-life: the tiering forecast looks a month
 * ahead, and monthly patterns (month-end reporting) vanish from a 1-week sum before they recur.
 * Existing rows start from 0 and fill as events arrive.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table dataset_stats add column decay_30d real not null default 0`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('dataset_stats').dropColumn('decay_30d').execute();
}
