import type { Kysely } from 'kysely';
import { portable } from './portable';

/**
 * Large reads per dataset (non-scan reads of at least half its size): how many, their bytes,
 * their bursts, the first and latest of them, and the sum of squared gaps between bursts (hours²). The tiering policy prices a dataset read
 * whole from its own whole reads, and times a weekly or monthly reader by its bursts. Existing
 * rows start from none and fill as events arrive.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = portable(db);
  for (const column of ['large_reads', 'large_bytes', 'large_bursts']) {
    await db.schema
      .alterTable('dataset_stats')
      .addColumn(column, t.int, (c) => c.notNull().defaultTo(0))
      .execute();
  }
  await db.schema.alterTable('dataset_stats').addColumn('large_first', t.int).execute();
  await db.schema.alterTable('dataset_stats').addColumn('large_last', t.int).execute();
  await db.schema
    .alterTable('dataset_stats')
    .addColumn('large_gap_sq', t.real, (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const column of ['large_gap_sq', 'large_last', 'large_first', 'large_bursts', 'large_bytes', 'large_reads']) {
    await db.schema.alterTable('dataset_stats').dropColumn(column).execute();
  }
}
