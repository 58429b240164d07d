import type { Insertable, Kysely } from 'kysely';
import { chunks } from '../platform';
import type { DB } from '../db';

export type NewLogEntry = Insertable<DB['event_log']>;
export type LogEntry = { offset: number; payload: string };

const ROWS_PER_INSERT = 1_000;

/** The embedded bus's append-only log: one partition, offsets that only grow. */
export class EventLogRepository {
  /**
   * `reader` serves the consumer's reads: on SQLite a second connection reading the WAL, so
   * reading what was appended never queues on the writer's one connection behind the publishers'
   * group commits (or they behind it). Without one, the writer reads too.
   */
  constructor(
    private readonly db: Kysely<DB>,
    private readonly reader: Kysely<DB> = db,
  ) {}

  /**
   * Appends every entry atomically: all are durable, or none. Up to one statement's worth goes
   * in as that one statement, which is its own transaction: no begin/commit round trips on the
   * writer's one connection, which every concurrent single-event request waits on.
   */
  async append(entries: readonly NewLogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    if (entries.length <= ROWS_PER_INSERT) {
      await this.db.insertInto('event_log').values(entries).execute();
      return;
    }
    await this.db.transaction().execute(async (trx) => {
      for (const part of chunks(entries, ROWS_PER_INSERT)) await trx.insertInto('event_log').values(part).execute();
    });
  }

  /** Up to `limit` entries from offset `from` on, in offset order. */
  read(from: number, limit: number): Promise<LogEntry[]> {
    return this.reader
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
