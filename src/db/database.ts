import fs from 'node:fs';
import path from 'node:path';
import sqlite3 from 'sqlite3';
import { Kysely, Migrator, sql, type MigrationProvider } from 'kysely';
import { migrations } from '../../migrations';
import type { Logger } from '../platform';
import type { DB } from './schema';
import { Sqlite3Dialect } from './sqlite3-dialect';

export type Db = Kysely<DB>;

export interface DatabaseOptions {
  path: string;
  synchronous: 'FULL' | 'NORMAL';
  logger: Logger;
}

/** Owns the SQLite file: opens it in WAL mode, migrates it, answers health checks, closes it. */
export class Database {
  readonly name = 'database';
  private raw: sqlite3.Database | undefined;
  private kysely: Db | undefined;
  private rawReader: sqlite3.Database | undefined;
  private readerKysely: Db | undefined;

  constructor(private readonly opts: DatabaseOptions) {}

  get db(): Db {
    if (!this.kysely) throw new Error('database is not open');
    return this.kysely;
  }

  /**
   * A second, read-only connection for long scans (the scheduler reads every dataset): in WAL
   * mode it reads a consistent snapshot on its own thread while the main connection goes on
   * writing, so a scan never holds up ingest, and its writes overlap its own reads.
   */
  get reader(): Db {
    if (!this.readerKysely) throw new Error('database is not open');
    return this.readerKysely;
  }

  get isOpen(): boolean {
    return this.kysely !== undefined;
  }

  async start(): Promise<void> {
    if (this.kysely) return;
    fs.mkdirSync(path.dirname(this.opts.path), { recursive: true });
    this.raw = await open(this.opts.path);
    this.raw.configure('busyTimeout', 10_000);
    this.kysely = new Kysely<DB>({ dialect: new Sqlite3Dialect(this.raw) });
    await sql`pragma journal_mode = wal`.execute(this.kysely);
    await sql.raw(`pragma synchronous = ${this.opts.synchronous}`).execute(this.kysely);
    await sql`pragma foreign_keys = on`.execute(this.kysely);
    await sql`pragma temp_store = memory`.execute(this.kysely);
    await sql`pragma cache_size = -65536`.execute(this.kysely);
    await this.migrate();
    this.rawReader = await open(this.opts.path, sqlite3.OPEN_READONLY);
    this.rawReader.configure('busyTimeout', 10_000);
    this.readerKysely = new Kysely<DB>({ dialect: new Sqlite3Dialect(this.rawReader) });
    await sql`pragma cache_size = -65536`.execute(this.readerKysely);
  }

  private async migrate(): Promise<void> {
    const provider: MigrationProvider = { getMigrations: async () => migrations };
    const migrator = new Migrator({ db: this.db, provider });
    const { error, results } = await migrator.migrateToLatest();
    for (const r of results ?? []) {
      this.opts.logger.info('db.migration', { migration: r.migrationName, status: r.status });
    }
    if (error) throw error instanceof Error ? error : new Error(`migration failed: ${JSON.stringify(error)}`);
  }

  async ping(): Promise<boolean> {
    if (!this.kysely) return false;
    try {
      await sql`select 1`.execute(this.kysely);
      return true;
    } catch {
      return false;
    }
  }

  /** For `/readyz`. */
  async health(): Promise<Record<string, string>> {
    return { database: (await this.ping()) ? 'ok' : 'database not open' };
  }

  async stop(): Promise<void> {
    const handles: [Db | undefined, sqlite3.Database | undefined][] = [
      [this.readerKysely, this.rawReader],
      [this.kysely, this.raw],
    ];
    this.kysely = this.readerKysely = undefined;
    this.raw = this.rawReader = undefined;
    for (const [k, raw] of handles) {
      if (k) await k.destroy();
      if (raw) await new Promise<void>((resolve, reject) => raw.close((err) => (err ? reject(err) : resolve())));
    }
  }
}

function open(file: string, mode = sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, mode, (err) => (err ? reject(err) : resolve(db)));
  });
}
