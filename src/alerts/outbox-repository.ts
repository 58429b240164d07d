import type { Kysely, Selectable } from 'kysely';
import { type AlertOutboxTable, type DB, type Fence, fenced } from '../db';

export type OutboxRow = Selectable<AlertOutboxTable>;

/** The webhook posts not delivered yet, oldest first. */
export class OutboxRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async add(body: string, now: number): Promise<number> {
    const r = await this.db
      .insertInto('alert_outbox')
      .values({ body, created_at: now, next_at: now, last_error: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(r.id);
  }

  /** The oldest post: posts go out in order, so it is the next one whoever wrote it. */
  async head(): Promise<OutboxRow | undefined> {
    const r = await this.db.selectFrom('alert_outbox').selectAll().orderBy('id').limit(1).executeTakeFirst();
    return r && numeric(r);
  }

  /**
   * Claims the post for one attempt before it is sent: only while it is due (`next_at` <= now, so
   * nobody's claim is live), it is marked as someone's until `until` (next_at) and counted as an
   * attempt. False when another instance has it or it is gone. `fence`: under the alerts lease,
   * so a stale deliverer resumed after a takeover is refused before it posts.
   */
  async claim(id: number, now: number, until: number, fence?: Fence): Promise<boolean> {
    const r = await fenced(this.db, fence, (db) =>
      db
        .updateTable('alert_outbox')
        .set((eb) => ({ next_at: until, attempts: eb('attempts', '+', 1) }))
        .where('id', '=', id)
        .where('next_at', '<=', now)
        .executeTakeFirst(),
    );
    return Number(r.numUpdatedRows) > 0;
  }

  /** Delivered (or given up): gone, whoever claimed it since (it went out). */
  async delivered(id: number): Promise<void> {
    await this.db.deleteFrom('alert_outbox').where('id', '=', id).execute();
  }

  /** The attempt claimed until `claimedUntil` failed: retried at `nextAt`, unless another instance claimed it since. */
  async failed(id: number, claimedUntil: number, nextAt: number, error: string): Promise<void> {
    await this.db
      .updateTable('alert_outbox')
      .set({ next_at: nextAt, last_error: error })
      .where('id', '=', id)
      .where('next_at', '=', claimedUntil)
      .execute();
  }

  async count(): Promise<number> {
    const r = await this.db
      .selectFrom('alert_outbox')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Drops the oldest posts beyond `keep`; how many went. */
  async trim(keep: number): Promise<number> {
    const over = (await this.count()) - keep;
    if (over <= 0) return 0;
    const ids = await this.db.selectFrom('alert_outbox').select('id').orderBy('id').limit(over).execute();
    await this.db
      .deleteFrom('alert_outbox')
      .where(
        'id',
        'in',
        ids.map((r) => r.id),
      )
      .execute();
    return ids.length;
  }
}

/** PostgreSQL hands bigint columns back as text. */
function numeric(r: OutboxRow): OutboxRow {
  return {
    ...r,
    id: Number(r.id),
    created_at: Number(r.created_at),
    attempts: Number(r.attempts),
    next_at: Number(r.next_at),
  };
}
