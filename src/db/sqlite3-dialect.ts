import type sqlite3 from 'sqlite3';
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
    // Statements must be finalized before the owner (db/database.ts) can close the handle.
    await this.connection.finalizeAll();
  }
}

const READER = /^\s*(select|with|pragma|values|explain)\b/i;
const RETURNING = /\breturning\b/i;

/** Prepared statements kept per SQL text: parsing a 1,000-row VALUES list costs as much as running it. */
const STATEMENT_CACHE = 128;

class Sqlite3Connection implements DatabaseConnection {
  private readonly statements = new Map<string, sqlite3.Statement>();

  constructor(private readonly db: sqlite3.Database) {}

  private prepare(sql: string): Promise<sqlite3.Statement> {
    const cached = this.statements.get(sql);
    if (cached) {
      this.statements.delete(sql);
      this.statements.set(sql, cached);
      return Promise.resolve(cached);
    }
    return new Promise((resolve, reject) => {
      const stmt = this.db.prepare(sql, (err: Error | null) => {
        if (err) return reject(err);
        this.statements.set(sql, stmt);
        if (this.statements.size > STATEMENT_CACHE) {
          const [oldest, old] = this.statements.entries().next().value as [string, sqlite3.Statement];
          this.statements.delete(oldest);
          old.finalize();
        }
        resolve(stmt);
      });
    });
  }

  async finalizeAll(): Promise<void> {
    const all = [...this.statements.values()];
    this.statements.clear();
    await Promise.all(all.map((s) => new Promise<void>((resolve) => s.finalize(() => resolve()))));
  }

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const { sql, parameters } = compiled;
    const params = parameters as unknown[];
    const stmt = await this.prepare(sql);
    if (READER.test(sql) || RETURNING.test(sql)) {
      return new Promise((resolve, reject) => {
        stmt.all(params, (err: Error | null, rows: R[]) => (err ? reject(err) : resolve({ rows })));
      });
    }
    return new Promise((resolve, reject) => {
      stmt.run(params, function (this: sqlite3.RunResult, err: Error | null) {
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
