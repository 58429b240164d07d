import type { Kysely } from 'kysely';
import { portable } from './portable';

/**
 * Read phases per dataset: how many non-scan reads were counted, and the sums of the unit vectors
 * of their phases in the month and in the week, and over two months and two weeks. The tiering policy times a monthly or weekly
 * reader from them, whatever the size of its reads. Existing rows start from none and fill as
 * events arrive.
 */
const COLUMNS = [
  'phase_reads',
  'phase_month_cos',
  'phase_month_sin',
  'phase_week_cos',
  'phase_week_sin',
  'phase_month2_cos',
  'phase_month2_sin',
  'phase_week2_cos',
  'phase_week2_sin',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  const t = portable(db);
  await db.schema
    .alterTable('dataset_stats')
    .addColumn('phase_reads', t.int, (c) => c.notNull().defaultTo(0))
    .execute();
  for (const column of COLUMNS.slice(1)) {
    await db.schema
      .alterTable('dataset_stats')
      .addColumn(column, t.real, (c) => c.notNull().defaultTo(0))
      .execute();
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const column of [...COLUMNS].reverse()) {
    await db.schema.alterTable('dataset_stats').dropColumn(column).execute();
  }
}
