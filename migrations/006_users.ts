import { sql, type Kysely } from 'kysely';
import { portable } from './portable';

/**
 * People who sign in to the pages. Passwords are stored as scrypt hashes with a per-user salt
 * (see src/auth/passwords.ts). A session is a signed JWT in a cookie, so nothing is stored per
 * login; a logout records the token's id until it would have expired anyway.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = portable(db);
  await db.schema
    .createTable('users')
    .addColumn('id', t.int, (c) => t.autoId(c))
    .addColumn('username', 'text', (c) => c.notNull().unique())
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('viewer','operator')`))
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', t.int, (c) => c.notNull())
    .addColumn('updated_at', t.int, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('revoked_sessions')
    .addColumn('jti', 'text', (c) => c.primaryKey())
    .addColumn('expires_at', t.int, (c) => c.notNull())
    .modifyEnd(t.withoutRowid)
    .execute();
  await db.schema.createIndex('revoked_sessions_expires').on('revoked_sessions').column('expires_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('revoked_sessions').execute();
  await db.schema.dropTable('users').execute();
}
