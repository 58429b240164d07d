import type { Kysely } from 'kysely';
import { portable } from './portable';

/**
 * Alerts as they open and close: failed moves, integrity failures, consumer lag, gaps in the
 * stream, failing readiness checks. `watermark` is the newest event an alert of an event kind
 * covers (a move id, an integrity failure id): acknowledging it covers those events for good.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = portable(db);
  await db.schema
    .createTable('alerts')
    .addColumn('id', t.int, (c) => t.autoId(c))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('watermark', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('opened_at', 'bigint', (c) => c.notNull())
    .addColumn('closed_at', 'bigint')
    .addColumn('acknowledged_at', 'bigint')
    .addColumn('acknowledged_by', 'text')
    .execute();
  await db.schema.createIndex('alerts_key_open').on('alerts').columns(['key', 'closed_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('alerts').execute();
}
