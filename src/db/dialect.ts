import { PostgresAdapter, sql, type Kysely, type RawBuilder } from 'kysely';

/** The two engines the one set of repositories and migrations runs on. */
export type DialectName = 'sqlite' | 'postgres';

/**
 * Which engine a Kysely instance (or a transaction of one) talks to. Read from the instance
 * rather than passed around, so repositories, `bulkWrite` and migrations that must spell a
 * statement two ways keep their `db`-first signatures.
 */
export function dialectOf(db: Pick<Kysely<unknown>, 'getExecutor'>): DialectName {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

/**
 * The larger of several values: SQLite's scalar max() is PostgreSQL's greatest(). (On NULL they
 * differ: SQLite answers NULL, PostgreSQL ignores it; callers pass values that are never NULL.)
 */
export function greatest(dialect: DialectName, ...values: RawBuilder<unknown>[]): RawBuilder<number> {
  return sql<number>`${sql.raw(dialect === 'postgres' ? 'greatest' : 'max')}(${sql.join(values)})`;
}

/** The smaller of several values: SQLite's scalar min(), PostgreSQL's least(). */
export function least(dialect: DialectName, ...values: RawBuilder<unknown>[]): RawBuilder<number> {
  return sql<number>`${sql.raw(dialect === 'postgres' ? 'least' : 'min')}(${sql.join(values)})`;
}

/** 1 or 0 for a condition, on both engines (PostgreSQL's comparisons and exists() are booleans). */
export function asFlag(condition: RawBuilder<unknown>): RawBuilder<number> {
  return sql<number>`case when ${condition} then 1 else 0 end`;
}

/**
 * Now, in epoch milliseconds, on the database's clock: what instances sharing a database compare
 * lease and claim expiries against, so their own clocks may disagree (SQLite's one machine reads
 * its own clock the same way).
 */
export function dbNow(db: Pick<Kysely<unknown>, 'getExecutor'>): RawBuilder<number> {
  return dialectOf(db) === 'postgres'
    ? sql<number>`cast(floor(extract(epoch from clock_timestamp()) * 1000) as bigint)`
    : sql<number>`cast(unixepoch('subsec') * 1000 as integer)`;
}
