import type { Kysely } from 'kysely';
import { portable } from './portable';

/**
 * A daily snapshot of what storage costs per placement, and what it would cost if everything
 * were HOT at its location: the history behind the overview's trend (as S3 Storage Lens keeps).
 * One row per day and placement; `day` is the UTC day's start in ms.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = portable(db);
  await db.schema
    .createTable('cost_history')
    .addColumn('day', 'bigint', (c) => c.notNull())
    .addColumn('location', 'text', (c) => c.notNull())
    .addColumn('tier', 'text', (c) => c.notNull())
    .addColumn('datasets', t.int, (c) => c.notNull())
    .addColumn('bytes', 'bigint', (c) => c.notNull())
    .addColumn('cost_month', 'double precision', (c) => c.notNull())
    .addColumn('all_hot_month', 'double precision', (c) => c.notNull())
    .addColumn('catalog_version', t.int, (c) => c.notNull())
    .addColumn('taken_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('cost_history_pk', ['day', 'location', 'tier'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('cost_history').execute();
}
