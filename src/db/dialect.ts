import { PostgresAdapter, type Kysely } from 'kysely';

/** The two engines the one set of repositories and migrations runs on. */
export type DialectName = 'sqlite' | 'postgres';

/**
 * Which engine a Kysely instance (or a transaction of one) talks to. Read from the instance
 * rather than passed around, so repositories, `bulkWrite` and migrations that must spell a
 * statement two ways keep their `db`-first signatures.
 */
export function dialectOf(db: Kysely<unknown> | Kysely<never>): DialectName {
  return (db as Kysely<unknown>).getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}
