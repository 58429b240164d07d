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

/** The one handle, its prepared statements and its turn-taking: shared by every dialect over it. */
interface Handle {
  database: sqlite3.Database;
  mutex: Mutex;
  connection: Sqlite3Connection;
}

export type SyncLevel = 'FULL' | 'NORMAL';

/**
 * Kysely ships a dialect for better-sqlite3 only. This one drives the asynchronous `sqlite3`
 * package over one connection: SQLite has one writer anyway, and a mutex makes transactions
 * and statements take turns instead of interleaving on the shared handle.
 */
export class Sqlite3Dialect implements Dialect {
  private readonly handle: Handle;

  /** `restore`: see `withoutCommitSync`. */
  constructor(
    database: sqlite3.Database,
    handle?: Handle,
    private readonly restore?: SyncLevel,
  ) {
    this.handle = handle ?? { database, mutex: new Mutex(), connection: new Sqlite3Connection(database) };
  }

  /**
   * The same connection, taking turns with this dialect, whose transactions commit without an
   * fsync of their own (synchronous=NORMAL for the transaction, then `restore` again). Such a
   * commit survives the process dying (it is in the OS's cache) and is made durable by the next
   * synced commit on the file, since the WAL is written in order; a power cut loses at most a
   * tail of them, all or nothing each. Only for work that is redone from what a synced commit
   * kept: the embedded log's consumer, whose events are in the log.
   */
  withoutCommitSync(restore: SyncLevel): Sqlite3Dialect {
    return new Sqlite3Dialect(this.handle.database, this.handle, restore);
  }

  createAdapter(): SqliteAdapter {
    return new SqliteAdapter();
  }
  createDriver(): Driver {
    return new Sqlite3Driver(this.handle, this.restore);
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
  constructor(
    private readonly handle: Handle,
    private readonly restore: SyncLevel | undefined,
  ) {}
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    await this.handle.mutex.lock();
    return this.handle.connection;
  }
  // Without a commit sync, the pragmas go in the same call as begin and commit: no round trip added.
  async beginTransaction(conn: DatabaseConnection): Promise<void> {
    if (!this.restore) return void (await conn.executeQuery(CompiledQuery.raw('begin immediate')));
    try {
      await this.handle.connection.exec('pragma synchronous = NORMAL; begin immediate');
    } catch (err) {
      await this.restoreSync();
      throw err;
    }
  }
  async commitTransaction(conn: DatabaseConnection): Promise<void> {
    if (!this.restore) return void (await conn.executeQuery(CompiledQuery.raw('commit')));
    // A failed commit leaves the transaction open: Kysely rolls it back, and that restores.
    await this.handle.connection.exec(`commit; pragma synchronous = ${this.restore}`);
  }
  async rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    try {
      await conn.executeQuery(CompiledQuery.raw('rollback'));
    } finally {
      if (this.restore) await this.restoreSync();
    }
  }
  private restoreSync(): Promise<void> {
    return this.handle.connection.exec(`pragma synchronous = ${this.restore ?? 'FULL'}`);
  }
  async releaseConnection(): Promise<void> {
    this.handle.mutex.unlock();
  }
  async destroy(): Promise<void> {
    // Statements must be finalized before the owner (db/database.ts) can close the handle.
    await this.handle.connection.finalizeAll();
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

  /** SQL text without parameters, several statements in one call (one trip to sqlite3's thread). */
  exec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => this.db.exec(sql, (err: Error | null) => (err ? reject(err) : resolve())));
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
