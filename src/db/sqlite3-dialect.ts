import sqlite3 from 'sqlite3';
import {
  CompiledQuery,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
} from 'kysely';

/**
 * Kysely ships a dialect for better-sqlite3 only. This one drives the asynchronous `sqlite3`
 * package over one connection: SQLite has one writer anyway, and a mutex makes transactions
 * and statements take turns instead of interleaving on the shared handle.
 */
export class Sqlite3Dialect implements Dialect {
  constructor(private readonly database: sqlite3.Database) {}
  createAdapter(): SqliteAdapter {
    return new SqliteAdapter();
  }
  createDriver(): Driver {
    return new Sqlite3Driver(this.database);
  }
  createQueryCompiler(): SqliteQueryCompiler {
    return new SqliteQueryCompiler();
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's own signature
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}

class Sqlite3Driver implements Driver {
  private readonly mutex = new Mutex();
  private readonly connection: Sqlite3Connection;
  constructor(database: sqlite3.Database) {
    this.connection = new Sqlite3Connection(database);
  }
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    await this.mutex.lock();
    return this.connection;
  }
  async beginTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('begin immediate'));
  }
  async commitTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('commit'));
  }
  async rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('rollback'));
  }
  async releaseConnection(): Promise<void> {
    this.mutex.unlock();
  }
  async destroy(): Promise<void> {
    // The owner of the sqlite3.Database closes it (see db/database.ts).
  }
}

const READER = /^\s*(select|with|pragma|values|explain)\b/i;
const RETURNING = /\breturning\b/i;

class Sqlite3Connection implements DatabaseConnection {
  constructor(private readonly db: sqlite3.Database) {}

  executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const { sql, parameters } = compiled;
    const params = parameters as unknown[];
    if (READER.test(sql) || RETURNING.test(sql)) {
      return new Promise((resolve, reject) => {
        this.db.all(sql, params, (err: Error | null, rows: R[]) => (err ? reject(err) : resolve({ rows })));
      });
    }
    return new Promise((resolve, reject) => {
      this.db.run(sql, params, function (this: sqlite3.RunResult, err: Error | null) {
        if (err) return reject(err);
        resolve({
          rows: [],
          numAffectedRows: BigInt(this.changes ?? 0),
          insertId: this.lastID === undefined ? undefined : BigInt(this.lastID),
        });
      });
    });
  }

  async *streamQuery<R>(compiled: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    // sqlite3's each() cannot be paused; queries that need streaming page with keyset instead.
    const result = await this.executeQuery<R>(compiled);
    yield result;
  }
}

class Mutex {
  private locked = false;
  private readonly queue: Array<() => void> = [];
  lock(): Promise<void> {
    if (!this.locked) {
      this.locked = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queue.push(resolve));
  }
  unlock(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.locked = false;
  }
}
