import type { Kysely } from 'kysely';

/**
 * Integrity: a dataset whose stored object failed verification is marked damaged until its
 * content is replaced or verifies again; every failure is kept (for /metrics and the operator).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('datasets').addColumn('damaged_at', 'integer').execute();
  await db.schema.alterTable('datasets').addColumn('damage', 'text').execute();
  await db.schema
    .createTable('integrity_failures')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('dataset_id', 'integer', (c) => c.notNull())
    .addColumn('object_id', 'text', (c) => c.notNull())
    .addColumn('found_by', 'text', (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text')
    .addColumn('at', 'integer', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('integrity_failures').execute();
  await db.schema.alterTable('datasets').dropColumn('damage').execute();
  await db.schema.alterTable('datasets').dropColumn('damaged_at').execute();
}
