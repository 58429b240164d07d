import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Logger } from '../platform';
import type { Connections, Db } from './connections';
import type { DB } from './schema';

export interface PostgresOptions {
  url: string;
  /** Connections in the pool. */
  poolSize: number;
  logger: Logger;
}

const INT8 = 20;
const NUMERIC = 1700;

/**
 * int8 (bigint columns, count(*)) and numeric (sum() over bigint) arrive as strings from pg,
 * to be safe past 2^53. Every value here (epoch milliseconds, byte counts, event counts) stays
 * far below that, and the repositories are written for numbers, as SQLite returns them.
 * Per pool rather than pg's global registry, so nothing else in the process is affected.
 */
const toNumber = (v: string): number => Number(v);
const types: pg.CustomTypesConfig = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): unknown {
    if (oid === INT8 || oid === NUMERIC) return toNumber;
    return pg.types.getTypeParser(oid, format ?? 'text');
  },
};

/**
 * A pool on the server at `url`. One pool serves writes and long scans alike: PostgreSQL runs
 * them on separate connections anyway, and each statement sees its own snapshot.
 */
export async function openPostgres(opts: PostgresOptions, migrate: (db: Db) => Promise<void>): Promise<Connections> {
  const pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize, types });
  // An idle client's error (the server restarted, a network blip) is emitted on the pool; unheard,
  // it would end the process. The next query gets a fresh connection.
  pool.on('error', (err) => opts.logger.warn('db.pool_error', { error: err.message }));
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  const close = (): Promise<void> => db.destroy();
  try {
    await migrate(db);
    return { db, reader: db, close };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}

/** The URL as it may be logged: without its password. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable)';
  }
}
