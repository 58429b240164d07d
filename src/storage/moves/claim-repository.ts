import { type Db, dbNow, type MoveRow, type MoveState } from '../../db';

/** States in which a move's copy may be under way (its owner's claim then guards it). */
const IN_FLIGHT: readonly MoveState[] = ['copying', 'verifying', 'switched'];

/**
 * Which instance runs which move, as conditional UPDATEs (atomic on SQLite and on PostgreSQL
 * under READ COMMITTED, where the UPDATE re-checks its WHERE on the row it locks): a move is
 * claimed only while nobody's claim on it is live, so two instances never run the same one.
 * Claims run out on the database's clock (dbNow), never an instance's: instances whose clocks
 * disagree still agree on whose claim is live.
 */
export class ClaimRepository {
  constructor(private readonly db: Db) {}

  /** Planned moves nobody holds a live claim on, oldest first; one waiting for a restore only once due for a look. */
  claimable(limit: number): Promise<MoveRow[]> {
    const now = dbNow(this.db);
    return this.db
      .selectFrom('moves')
      .selectAll()
      .where('state', '=', 'planned')
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
      .where((eb) => eb.or([eb('next_check_at', 'is', null), eb('next_check_at', '<=', now)]))
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  /** In-flight moves whose owner stopped renewing its claim (or that no owner ever claimed). */
  orphaned(limit: number): Promise<MoveRow[]> {
    const now = dbNow(this.db);
    return this.db
      .selectFrom('moves')
      .selectAll()
      .where('state', 'in', IN_FLIGHT)
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  /** Claims `id` for `owner` when it is in one of `states` and nobody's claim is live; true when it did. */
  async claim(id: number, states: readonly MoveState[], owner: string, ttlMs: number): Promise<boolean> {
    const now = dbNow(this.db);
    const r = await this.db
      .updateTable('moves')
      .set((eb) => ({ owner, claimed_until: eb(now, '+', ttlMs) }))
      .where('id', '=', id)
      .where('state', 'in', states)
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
      .returning('id')
      .executeTakeFirst();
    return r !== undefined;
  }

  /** Extends `owner`'s claims on `ids`; returns the ids it still holds (another instance took the rest). */
  async renew(owner: string, ids: readonly number[], ttlMs: number): Promise<Set<number>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db
      .updateTable('moves')
      .set((eb) => ({ claimed_until: eb(dbNow(this.db), '+', ttlMs) }))
      .where('id', 'in', ids)
      .where('owner', '=', owner)
      .returning('id')
      .execute();
    return new Set(rows.map((r) => r.id));
  }

  /** Ends every claim on a planned move: only where no other instance can be alive to hold one. */
  async forgetPlanned(): Promise<void> {
    await this.db.updateTable('moves').set({ claimed_until: null }).where('state', '=', 'planned').execute();
  }

  /** Gives up `owner`'s claim on a move that goes back to planned, so any instance may run it at once. */
  async release(id: number, owner: string): Promise<void> {
    await this.db
      .updateTable('moves')
      .set({ claimed_until: null })
      .where('id', '=', id)
      .where('owner', '=', owner)
      .execute();
  }
}
