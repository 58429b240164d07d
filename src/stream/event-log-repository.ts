import { CompiledQuery, type Insertable, type Kysely } from 'kysely';
import { type DB, type DialectName, dialectOf } from '../db';
import { chunks } from '../platform';

export type NewLogEntry = Omit<Insertable<DB['event_log']>, 'appended_at'>;
export type LogEntry = { offset: number; payload: string };

const ROWS_PER_INSERT = 1_000;

const appendSqlCache = new Map<string, string>();

/**
 * `insert … select column1, column2, <appended_at> from (values (…), …)`: the append time, the
 * same for every row, is bound once instead of once per row. Binding is main-thread work in
 * sqlite3 (~0.4 µs per parameter here), and a 1,000-event append bound 3,000 of them. SQL text
 * per row count, so the driver's prepared statement is reused. PostgreSQL reads the VALUES
 * list's parameters as text, hence the casts.
 */
function appendSql(dialect: DialectName, rows: number): string {
  const key = `${dialect}:${rows}`;
  let text = appendSqlCache.get(key);
  if (text === undefined) {
    const pg = dialect === 'postgres';
    const values: string[] = [];
    for (let i = 0; i < rows; i++) values.push(pg ? `($${2 * i + 2},$${2 * i + 3})` : '(?,?)');
    const [id, at] = pg ? ['cast(column1 as bigint)', 'cast($1 as bigint)'] : ['column1', '?'];
    text = `insert into event_log (dataset_id, payload, appended_at) select ${id}, column2, ${at} from (values ${values.join(',')}) as v`;
    if (appendSqlCache.size > 256) appendSqlCache.clear();
    appendSqlCache.set(key, text);
  }
  return text;
}

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
   * Appends every entry atomically, stamped `appendedAt`: all are durable, or none. Up to one
   * statement's worth goes in as that one statement, which is its own transaction: no
   * begin/commit round trips on the writer's one connection, which every concurrent
   * single-event request waits on. Hand-written SQL (appendSql), not the query builder: building
   * and compiling a 1,000-row INSERT's tree cost as much main-thread time as the rest.
   */
  async append(appendedAt: number, entries: readonly NewLogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const insert = async (db: Kysely<DB>, part: readonly NewLogEntry[]): Promise<void> => {
      const params: unknown[] = [appendedAt];
      for (const e of part) params.push(e.dataset_id, e.payload);
      await db.executeQuery(CompiledQuery.raw(appendSql(dialectOf(db), part.length), params));
    };
    if (entries.length <= ROWS_PER_INSERT) return insert(this.db, entries);
    await this.db.transaction().execute(async (trx) => {
      for (const part of chunks(entries, ROWS_PER_INSERT)) await insert(trx, part);
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
