import type { Insertable, Kysely } from 'kysely';
import { chunks } from '../platform';
import type { DB } from '../db';

export type NewLogEntry = Insertable<DB['event_log']>;
export type LogEntry = { offset: number; payload: string };

const ROWS_PER_INSERT = 1_000;

/** The embedded bus's append-only log: one partition, offsets that only grow. */
export class EventLogRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** Appends every entry in one transaction: all are durable, or none. */
  async append(entries: readonly NewLogEntry[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const part of chunks(entries, ROWS_PER_INSERT)) await trx.insertInto('event_log').values(part).execute();
    });
  }

  /** Up to `limit` entries from offset `from` on, in offset order. */
  read(from: number, limit: number): Promise<LogEntry[]> {
    return this.db
      .selectFrom('event_log')
      .select(['offset', 'payload'])
      .where('offset', '>=', from)
      .orderBy('offset')
      .limit(limit)
      .execute();
  }

  /** The first offset still in the log and the one after the last; both 0 when it is empty. */
  async bounds(): Promise<{ low: number; high: number }> {
    const r = await this.db
      .selectFrom('event_log')
      .select((eb) => [eb.fn.min<number | null>('offset').as('low'), eb.fn.max<number | null>('offset').as('high')])
      .executeTakeFirstOrThrow();
    return r.low === null || r.high === null ? { low: 0, high: 0 } : { low: r.low, high: r.high + 1 };
  }

  async countFrom(from: number): Promise<number> {
    const row = await this.db
      .selectFrom('event_log')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('offset', '>=', from)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Drops entries below offset `below` appended before `appendedBefore`; returns how many. */
  async prune(below: number, appendedBefore: number): Promise<number> {
    const res = await this.db
      .deleteFrom('event_log')
      .where('offset', '<', below)
      .where('appended_at', '<', appendedBefore)
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
