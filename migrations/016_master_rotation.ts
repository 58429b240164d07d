import type { Kysely } from 'kysely';

/**
 * Rotating the master key itself. Each KEK version remembers which master derived it (null: the
 * data directory's first master, whose key ids carry no fingerprint), and the keyring remembers
 * the master a rotation started from until every data key wrapped under it is re-wrapped.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('kek_versions').addColumn('master_fingerprint', 'text').execute();
  await db.schema.alterTable('key_meta').addColumn('previous_fingerprint', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('kek_versions').dropColumn('master_fingerprint').execute();
  await db.schema.alterTable('key_meta').dropColumn('previous_fingerprint').execute();
}
