import { sql, type Kysely } from 'kysely';
import { portable } from './portable';

// Migrations take Kysely<unknown>: they must not depend on today's schema types.
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = portable(db);
  await db.schema
    .createTable('datasets')
    .addColumn('id', t.int, (c) => t.autoId(c))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text')
    .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('size_gb', t.real, (c) =>
      c
        .notNull()
        .defaultTo(0)
        .check(sql`size_gb >= 0`),
    )
    .addColumn('tier', 'text', (c) =>
      c
        .notNull()
        .defaultTo('WARM')
        .check(sql`tier in ('HOT','WARM','COLD')`),
    )
    .addColumn('location', 'text', (c) =>
      c
        .notNull()
        .defaultTo('PRIVATE')
        .check(sql`location in ('ONPREM','PRIVATE','PUBLIC')`),
    )
    .addColumn('location_uri', 'text')
    .addColumn('created_at', t.int, (c) => c.notNull())
    .addColumn('updated_at', t.int, (c) => c.notNull())
    .addColumn('last_storage_migration', t.int)
    .execute();
  await db.schema.createIndex('datasets_tier_location').on('datasets').columns(['tier', 'location']).execute();

  await db.schema
    .createTable('dataset_stats')
    .addColumn('dataset_id', t.int, (c) => c.primaryKey().references('datasets.id').onDelete('cascade'))
    .addColumn('reads', t.int, (c) => c.notNull().defaultTo(0))
    .addColumn('writes', t.int, (c) => c.notNull().defaultTo(0))
    .addColumn('scans', t.int, (c) => c.notNull().defaultTo(0))
    .addColumn('bytes_read', t.int, (c) => c.notNull().defaultTo(0))
    .addColumn('bytes_written', t.int, (c) => c.notNull().defaultTo(0))
    .addColumn('first_access', t.int)
    .addColumn('last_access', t.int)
    .addColumn('decay_at', t.int, (c) => c.notNull())
    .addColumn('decay_1h', t.real, (c) => c.notNull().defaultTo(0))
    .addColumn('decay_1d', t.real, (c) => c.notNull().defaultTo(0))
    .addColumn('decay_1w', t.real, (c) => c.notNull().defaultTo(0))
    .execute();

  await db.schema
    .createTable('access_buckets')
    .addColumn('dataset_id', t.int, (c) => c.notNull().references('datasets.id').onDelete('cascade'))
    .addColumn('res', 'text', (c) => c.notNull().check(sql`res in ('m','h','d')`))
    .addColumn('bucket_start', t.int, (c) => c.notNull())
    .addColumn('reads', t.int, (c) => c.notNull().defaultTo(0))
    .addColumn('writes', t.int, (c) => c.notNull().defaultTo(0))
    .addColumn('scans', t.int, (c) => c.notNull().defaultTo(0))
    .addColumn('bytes', t.int, (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('access_buckets_pk', ['dataset_id', 'res', 'bucket_start'])
    .modifyEnd(t.withoutRowid)
    .execute();
  await db.schema.createIndex('access_buckets_age').on('access_buckets').columns(['res', 'bucket_start']).execute();

  await db.schema
    .createTable('event_ids')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('dataset_id', t.int, (c) => c.notNull())
    .addColumn('seen_at', t.int, (c) => c.notNull())
    .modifyEnd(t.withoutRowid)
    .execute();
  await db.schema.createIndex('event_ids_seen_at').on('event_ids').column('seen_at').execute();

  await db.schema
    .createTable('event_log')
    // AUTOINCREMENT: an offset is never reused, even after the log's head is pruned.
    .addColumn('offset', t.int, (c) => t.autoId(c))
    .addColumn('dataset_id', t.int, (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('appended_at', t.int, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('consumer_offsets')
    .addColumn('group_id', 'text', (c) => c.notNull())
    .addColumn('topic', 'text', (c) => c.notNull())
    .addColumn('partition', t.int, (c) => c.notNull())
    .addColumn('next_offset', t.int, (c) => c.notNull())
    .addColumn('updated_at', t.int, (c) => c.notNull())
    .addPrimaryKeyConstraint('consumer_offsets_pk', ['group_id', 'topic', 'partition'])
    .execute();

  await db.schema
    .createTable('dead_letters')
    .addColumn('id', t.int, (c) => t.autoId(c))
    .addColumn('created_at', t.int, (c) => c.notNull())
    .addColumn('topic', 'text', (c) => c.notNull())
    .addColumn('partition', t.int, (c) => c.notNull())
    .addColumn('offset', t.int, (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('dead_letters_created').on('dead_letters').column('created_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    'dead_letters',
    'consumer_offsets',
    'event_log',
    'event_ids',
    'access_buckets',
    'dataset_stats',
    'datasets',
  ]) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
