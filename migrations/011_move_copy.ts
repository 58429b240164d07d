import type { Kysely } from 'kysely';

/**
 * How a move's copy was made: 'file' (the file tree's own copy), 'server' (the object store's
 * server-side copy inside one location: no byte through the process) or 'streamed' (read from
 * one store and written to another). Null for moves made before stores, or catalog-only ones.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('moves').addColumn('copy', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('moves').dropColumn('copy').execute();
}
