import type { Kysely } from 'kysely';
import { portable } from './portable';

/**
 * Integrity: a dataset whose stored object failed verification is marked damaged until its
 * content is replaced or verifies again; every failure is kept (for /metrics and the operator).
 * A scrub records when each object last verified whole, and each of its runs.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = portable(db);
  await db.schema.alterTable('datasets').addColumn('damaged_at', t.int).execute();
  await db.schema.alterTable('datasets').addColumn('damage', 'text').execute();
  await db.schema.alterTable('datasets').addColumn('verified_at', t.int).execute();
  await db.schema
    .createTable('integrity_failures')
    .addColumn('id', t.int, (c) => t.autoId(c))
    .addColumn('dataset_id', t.int, (c) => c.notNull())
    .addColumn('object_id', 'text', (c) => c.notNull())
    .addColumn('found_by', 'text', (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text')
    .addColumn('at', t.int, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('scrub_runs')
    .addColumn('id', t.int, (c) => t.autoId(c))
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('started_at', t.int, (c) => c.notNull())
    .addColumn('finished_at', t.int)
    .addColumn('objects', t.int, (c) => c.notNull().defaultTo(0))
    .addColumn('bytes', t.int, (c) => c.notNull().defaultTo(0))
    .addColumn('damaged', t.int, (c) => c.notNull().defaultTo(0))
    .addColumn('skipped', t.int, (c) => c.notNull().defaultTo(0))
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
