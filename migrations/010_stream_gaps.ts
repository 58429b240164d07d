import type { Kysely } from 'kysely';
import { portable } from './portable';

/**
 * Stretches of a partition's log the consumer found gone (truncated or expired before they were
 * applied): acknowledged events that were never applied, kept until an operator acknowledges them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = portable(db);
  await db.schema
    .createTable('stream_gaps')
    .addColumn('id', t.int, (c) => t.autoId(c))
    .addColumn('topic', 'text', (c) => c.notNull())
    .addColumn('partition', t.int, (c) => c.notNull())
    .addColumn('from_offset', t.int, (c) => c.notNull())
    .addColumn('to_offset', t.int, (c) => c.notNull())
    .addColumn('detected_at', t.int, (c) => c.notNull())
    .addColumn('acknowledged_at', t.int)
    .addColumn('acknowledged_by', 'text')
    .execute();
  // A gap is found inside the transaction that moves the offset past it, so at most once; the
  // index keeps it so even if that changes.
  await db.schema
    .createIndex('stream_gaps_range')
    .on('stream_gaps')
    .columns(['topic', 'partition', 'from_offset'])
    .unique()
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('stream_gaps').execute();
}
