import type { Kysely } from 'kysely';
import type { DB } from '../db';
import type { AuthTables, Role, UserRow } from './users.table';

interface NewUser {
  username: string;
  role: Role;
  password_hash: string;
  now: number;
}

/** All SQL of users and ended sessions. */
export class UsersRepository {
  private readonly db: Kysely<DB & AuthTables>;

  constructor(db: Kysely<DB>) {
    // The shared schema type does not list the auth tables: they are this capability's own.
    this.db = db.withTables<AuthTables>();
  }

  async count(): Promise<number> {
    const r = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  byName(username: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
  }

  byId(id: number): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  list(): Promise<Omit<UserRow, 'password_hash'>[]> {
    return this.db
      .selectFrom('users')
      .select(['id', 'username', 'role', 'created_at', 'updated_at'])
      .orderBy('username')
      .execute();
  }

  /**
   * Inserts the user unless the name is taken, then returns the new id, else undefined: two
   * instances starting together on a new shared database create the first user once.
   */
  async insertIfAbsent(u: NewUser): Promise<number | undefined> {
    const r = await this.insertUser(u)
      .onConflict((oc) => oc.column('username').doNothing())
      .returning('id')
      .executeTakeFirst();
    return r?.id;
  }

  async insert(u: NewUser): Promise<number> {
    const r = await this.insertUser(u).returning('id').executeTakeFirstOrThrow();
    return r.id;
  }

  private insertUser(u: NewUser) {
    const { now, ...fields } = u;
    return this.db.insertInto('users').values({ ...fields, created_at: now, updated_at: now });
  }

  async setPassword(id: number, passwordHash: string, now: number): Promise<void> {
    await this.db
      .updateTable('users')
      .set({ password_hash: passwordHash, updated_at: now })
      .where('id', '=', id)
      .execute();
  }

  async delete(id: number): Promise<boolean> {
    const r = await this.db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async countRole(role: Role): Promise<number> {
    const r = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('role', '=', role)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async revoke(jti: string, expiresAt: number): Promise<void> {
    await this.db
      .insertInto('revoked_sessions')
      .values({ jti, expires_at: expiresAt })
      .onConflict((oc) => oc.column('jti').doNothing())
      .execute();
  }

  async isRevoked(jti: string): Promise<boolean> {
    const r = await this.db.selectFrom('revoked_sessions').select('jti').where('jti', '=', jti).executeTakeFirst();
    return r !== undefined;
  }

  async pruneRevoked(now: number): Promise<void> {
    await this.db.deleteFrom('revoked_sessions').where('expires_at', '<', now).execute();
  }
}
