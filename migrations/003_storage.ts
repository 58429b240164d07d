import { sql, type Kysely } from 'kysely';
import { portable } from './portable';

/**
 * Dataset content in the encrypted tier tree, the keys that protect it, and the journal of
 * moves between placements.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = portable(db);
  // The current copy of a dataset's bytes; all null for a catalog-only dataset.
  await db.schema.alterTable('datasets').addColumn('object_id', 'text').execute();
  await db.schema.alterTable('datasets').addColumn('content_bytes', t.int).execute();
  await db.schema.alterTable('datasets').addColumn('content_sha256', 'text').execute();
  await db.schema.alterTable('datasets').addColumn('wrapped_key', t.blob).execute();
  await db.schema.alterTable('datasets').addColumn('kek_id', 'text').execute();
  await db.schema.alterTable('datasets').addColumn('content_updated_at', t.int).execute();
  await db.schema.createIndex('datasets_kek').on('datasets').column('kek_id').execute();

  await db.schema
    .createTable('key_meta')
    .addColumn('id', t.int, (c) => c.primaryKey())
    .addColumn('master_fingerprint', 'text', (c) => c.notNull())
    .addColumn('created_at', t.int, (c) => c.notNull())
    .execute();

  // KEKs are derived from the master key per (location, version); only their versions live here.
  await db.schema
    .createTable('kek_versions')
    .addColumn('location', 'text', (c) => c.notNull())
    .addColumn('version', t.int, (c) => c.notNull())
    .addColumn('created_at', t.int, (c) => c.notNull())
    .addPrimaryKeyConstraint('kek_versions_pk', ['location', 'version'])
    .execute();

  await db.schema
    .createTable('moves')
    .addColumn('id', t.int, (c) => t.autoId(c))
    .addColumn('dataset_id', t.int, (c) => c.notNull())
    .addColumn('from_tier', 'text', (c) => c.notNull())
    .addColumn('from_location', 'text', (c) => c.notNull())
    .addColumn('to_tier', 'text', (c) => c.notNull())
    .addColumn('to_location', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) =>
      c.notNull().check(sql`state in ('planned','copying','verifying','switched','done','failed','cancelled')`),
    )
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('reason_detail', 'text')
    .addColumn('decision_id', t.int)
    .addColumn('catalog_only', t.int, (c) => c.notNull())
    .addColumn('object_id', 'text')
    .addColumn('bytes_total', t.int, (c) => c.notNull().defaultTo(0))
    .addColumn('bytes_done', t.int, (c) => c.notNull().defaultTo(0))
    .addColumn('error', 'text')
    .addColumn('created_at', t.int, (c) => c.notNull())
    .addColumn('started_at', t.int)
    .addColumn('switched_at', t.int)
    .addColumn('finished_at', t.int)
    .execute();
  await db.schema.createIndex('moves_dataset').on('moves').columns(['dataset_id', 'id']).execute();
  await db.schema.createIndex('moves_state').on('moves').column('state').execute();
  // One unfinished move per dataset at most: moves of one dataset never overlap.
  await sql`create unique index moves_one_active on moves (dataset_id) where state in ('planned','copying','verifying','switched')`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('moves').execute();
  await db.schema.dropTable('kek_versions').execute();
  await db.schema.dropTable('key_meta').execute();
  for (const c of ['object_id', 'content_bytes', 'content_sha256', 'wrapped_key', 'kek_id', 'content_updated_at']) {
    await db.schema.alterTable('datasets').dropColumn(c).execute();
  }
}
