import type { Kysely } from 'kysely';
import { portable } from './portable';

/**
 * A move out of a storage class that must be restored before reading (GLACIER, DEEP_ARCHIVE)
 * waits for the restore as a planned move: `restore_ready_at` says when the restore should be
 * done (shown as "waiting for restore, ready about …"), and nobody claims the move again before
 * `next_check_at`, when the source is looked at again. Both are null for every other move.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = portable(db);
  await db.schema.alterTable('moves').addColumn('restore_ready_at', t.int).execute();
  await db.schema.alterTable('moves').addColumn('next_check_at', t.int).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('moves').dropColumn('next_check_at').execute();
  await db.schema.alterTable('moves').dropColumn('restore_ready_at').execute();
}
