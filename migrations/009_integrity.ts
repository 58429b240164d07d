import type { Kysely } from 'kysely';

/**
 * Integrity: a dataset whose stored object failed verification is marked damaged until its
 * content is replaced or verifies again; every failure is kept (for /metrics and the operator).
 * A scrub records when each object last verified whole, and each of its runs.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('datasets').addColumn('damaged_at', 'integer').execute();
  await db.schema.alterTable('datasets').addColumn('damage', 'text').execute();
  await db.schema.alterTable('datasets').addColumn('verified_at', 'integer').execute();
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
  await db.schema
    .createTable('scrub_runs')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('started_at', 'integer', (c) => c.notNull())
    .addColumn('finished_at', 'integer')
    .addColumn('objects', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('bytes', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('damaged', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('skipped', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error', 'text')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('scrub_runs').execute();
  await db.schema.dropTable('integrity_failures').execute();
  await db.schema.alterTable('datasets').dropColumn('verified_at').execute();
  await db.schema.alterTable('datasets').dropColumn('damage').execute();
  await db.schema.alterTable('datasets').dropColumn('damaged_at').execute();
}
