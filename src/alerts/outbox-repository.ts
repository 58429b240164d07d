import type { Kysely, Selectable } from 'kysely';
import type { AlertOutboxTable, DB } from '../db';

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

  async delivered(id: number): Promise<void> {
    await this.db.deleteFrom('alert_outbox').where('id', '=', id).execute();
  }

  async failed(id: number, attempts: number, nextAt: number, error: string): Promise<void> {
    await this.db
      .updateTable('alert_outbox')
      .set({ attempts, next_at: nextAt, last_error: error })
      .where('id', '=', id)
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
