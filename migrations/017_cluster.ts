import type { Kysely } from 'kysely';
import { portable } from './portable';

/**
 * Several instances on one database: `leases` names who runs a singleton job (the tier scheduler)
 * until when, with a fencing token raised on every acquisition; a move row names the instance
 * that claimed it and until when the claim holds (renewed while it copies), so a move whose owner
 * died is recovered by another instance and a live one is never touched.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = portable(db);
  await db.schema
    .createTable('leases')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('token', t.int, (c) => c.notNull())
    .addColumn('acquired_at', t.int, (c) => c.notNull())
    .addColumn('expires_at', t.int, (c) => c.notNull())
    .execute();
  await db.schema.alterTable('moves').addColumn('owner', 'text').execute();
  await db.schema.alterTable('moves').addColumn('claimed_until', t.int).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('moves').dropColumn('claimed_until').execute();
  await db.schema.alterTable('moves').dropColumn('owner').execute();
  await db.schema.dropTable('leases').execute();
}
