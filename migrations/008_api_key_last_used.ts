import type { Kysely } from 'kysely';
import { portable } from './portable';

/** When a key was last used, kept past a restart and past its revocation (written in batches). */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = portable(db);
  await db.schema.alterTable('api_keys').addColumn('last_used_at', t.int).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('api_keys').dropColumn('last_used_at').execute();
}
