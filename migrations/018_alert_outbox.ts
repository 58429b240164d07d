import type { Kysely } from 'kysely';
import { portable } from './portable';

/**
 * Webhook posts not yet delivered, kept until the receiver takes them (or they are too old to
 * matter): a restart, or another instance taking over delivery, sends them on. Times are wall-clock
 * epoch milliseconds.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = portable(db);
  await db.schema
    .createTable('alert_outbox')
    .addColumn('id', t.int, (c) => t.autoId(c))
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('attempts', t.int, (c) => c.notNull().defaultTo(0))
    .addColumn('next_at', 'bigint', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .execute();
  // Retention prunes closed alerts by when they closed.
  await db.schema.createIndex('alerts_closed').on('alerts').column('closed_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('alerts_closed').execute();
  await db.schema.dropTable('alert_outbox').execute();
}
