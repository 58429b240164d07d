import type { Insertable, Kysely } from 'kysely';
import { bulkWrite, type DB } from '../db';

export type NewLogEntry = Insertable<DB['event_log']>;
export type LogEntry = { offset: number; payload: string };

const ROWS_PER_INSERT = 1_000;
const APPEND_HEAD = 'insert into event_log (dataset_id, payload, appended_at)';

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
   * Written through `bulkWrite`, not the query builder: building and compiling a 1,000-row
   * INSERT's tree cost about as much main-thread time per event as the rest of the append, and
   * its SQL text repeats, so the prepared statement is reused.
   */
  async append(entries: readonly NewLogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const rows = entries.map((e) => [e.dataset_id, e.payload, e.appended_at] as const);
    if (entries.length <= ROWS_PER_INSERT) {
      await bulkWrite(this.db, APPEND_HEAD, '', 3, rows);
      return;
    }
    await this.db.transaction().execute((trx) => bulkWrite<DB>(trx, APPEND_HEAD, '', 3, rows));
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
