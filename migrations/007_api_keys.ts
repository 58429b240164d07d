import type { Kysely } from 'kysely';
import { portable } from './portable';

/** API keys with scopes, stored as SHA-256 hashes of their secret part (never the key itself). */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = portable(db);
  await db.schema
    .createTable('api_keys')
    .addColumn('id', t.int, (c) => t.autoId(c))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('secret_sha256', 'text', (c) => c.notNull())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('created_at', t.int, (c) => c.notNull())
    .addColumn('revoked_at', t.int)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('api_keys').execute();
}
