import type { Selectable } from 'kysely';
import { type Db, dbNow, type LeasesTable } from '../db';

export type LeaseRow = Selectable<LeasesTable>;

/**
 * Leases as single conditional statements, so each is atomic on SQLite and on PostgreSQL under
 * READ COMMITTED (an UPDATE re-checks its WHERE on the row it locks): acquire takes an expired
 * lease (or creates the row) and raises the token; renew and release only touch the holder's own.
 * Expiry is set and judged on the database's clock (dbNow), never an instance's: instances whose
 * clocks disagree still agree on whether a lease has run out.
 */
export class LeaseRepository {
  constructor(private readonly db: Db) {}

  /** The new token when `holder` now holds `name`; undefined when someone else's lease is live. */
  async acquire(name: string, holder: string, ttlMs: number): Promise<number | undefined> {
    const now = dbNow(this.db);
    const created = await this.db
      .insertInto('leases')
      .values((eb) => ({ name, holder, token: 1, acquired_at: now, expires_at: eb(now, '+', ttlMs) }))
      .onConflict((oc) => oc.column('name').doNothing())
      .returning('token')
      .executeTakeFirst();
    if (created) return Number(created.token);
    const taken = await this.db
      .updateTable('leases')
      .set((eb) => ({ holder, token: eb('token', '+', 1), acquired_at: now, expires_at: eb(now, '+', ttlMs) }))
      .where('name', '=', name)
      .where('expires_at', '<', now)
      .returning('token')
      .executeTakeFirst();
    return taken ? Number(taken.token) : undefined;
  }

  /**
   * Takes the lease whoever holds it: only where nobody else can be running (one instance on an
   * exclusively locked SQLite directory, whose predecessor's lease may not have expired yet).
   */
  async seize(name: string, holder: string, ttlMs: number): Promise<number> {
    const token = await this.acquire(name, holder, ttlMs);
    if (token !== undefined) return token;
    const now = dbNow(this.db);
    const row = await this.db
      .updateTable('leases')
      .set((eb) => ({ holder, token: eb('token', '+', 1), acquired_at: now, expires_at: eb(now, '+', ttlMs) }))
      .where('name', '=', name)
      .returning('token')
      .executeTakeFirstOrThrow();
    return Number(row.token);
  }

  /** Extends the lease while `holder` still holds it with `token`; false when it was lost. */
  async renew(name: string, holder: string, token: number, ttlMs: number): Promise<boolean> {
    const r = await this.db
      .updateTable('leases')
      .set((eb) => ({ expires_at: eb(dbNow(this.db), '+', ttlMs) }))
      .where('name', '=', name)
      .where('holder', '=', holder)
      .where('token', '=', token)
      .returning('token')
      .executeTakeFirst();
    return r !== undefined;
  }

  /** Ends the lease at once (a clean stop), so another instance need not wait for it to expire. */
  async release(name: string, holder: string, token: number): Promise<void> {
    await this.db
      .updateTable('leases')
      .set({ expires_at: 0 })
      .where('name', '=', name)
      .where('holder', '=', holder)
      .where('token', '=', token)
      .execute();
  }

  /** The same leases seen from inside a transaction. */
  in(trx: Db): LeaseRepository {
    return new LeaseRepository(trx);
  }

  /**
   * Inside a write's transaction: true while `holder` holds `name` with `token` and it has not
   * expired. The (no-op) UPDATE locks the lease row on PostgreSQL until the transaction ends, so a
   * takeover waits for the write to commit, and a write after a takeover finds the new token and
   * is refused; on SQLite transactions are serialised anyway.
   */
  async hold(name: string, holder: string, token: number): Promise<boolean> {
    const r = await this.db
      .updateTable('leases')
      .set({ holder })
      .where('name', '=', name)
      .where('holder', '=', holder)
      .where('token', '=', token)
      .where('expires_at', '>', dbNow(this.db))
      .returning('token')
      .executeTakeFirst();
    return r !== undefined;
  }

  get(name: string): Promise<LeaseRow | undefined> {
    return this.db.selectFrom('leases').selectAll().where('name', '=', name).executeTakeFirst();
  }

  /** The lease's row while it is live (not expired on the database's clock); undefined otherwise. */
  live(name: string): Promise<LeaseRow | undefined> {
    return this.db
      .selectFrom('leases')
      .selectAll()
      .where('name', '=', name)
      .where('expires_at', '>', dbNow(this.db))
      .executeTakeFirst();
  }
}
