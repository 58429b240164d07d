import fs from 'node:fs';
import path from 'node:path';
import sqlite3 from 'sqlite3';
import { Kysely, sql } from 'kysely';
import type { Connections, Db } from './connections';
import type { DB } from './schema';
import { Sqlite3Dialect } from './sqlite3-dialect';

export interface SqliteOptions {
  path: string;
  synchronous: 'FULL' | 'NORMAL';
}

/** The SQLite file's writer in WAL mode; `migrate` runs on it before the reader opens. */
export async function openSqlite(opts: SqliteOptions, migrate: (db: Db) => Promise<void>): Promise<Connections> {
  fs.mkdirSync(path.dirname(opts.path), { recursive: true });
  const raw = await open(opts.path);
  raw.configure('busyTimeout', 10_000);
  const dialect = new Sqlite3Dialect(raw);
  const db = new Kysely<DB>({ dialect });
  const unsynced =
    opts.synchronous === 'FULL' ? new Kysely<DB>({ dialect: dialect.withoutCommitSync(opts.synchronous) }) : db;
  const handles: [Db, sqlite3.Database | undefined][] = [[db, raw]];
  // Destroyed before the writer (it shares its handle), never closing the handle itself.
  if (unsynced !== db) handles.push([unsynced, undefined]);
  const close = async (): Promise<void> => {
    for (const [k, r] of handles.reverse()) {
      await k.destroy();
      if (r) await new Promise<void>((resolve, reject) => r.close((err) => (err ? reject(err) : resolve())));
    }
  };
  try {
    await sql`pragma journal_mode = wal`.execute(db);
    await sql.raw(`pragma synchronous = ${opts.synchronous}`).execute(db);
    await sql`pragma foreign_keys = on`.execute(db);
    await sql`pragma temp_store = memory`.execute(db);
    await sql`pragma cache_size = -65536`.execute(db);
    await migrate(db);
    // A second, read-only connection for long scans (the scheduler reads every dataset): in WAL
    // mode it reads a consistent snapshot on its own thread while the writer goes on, so a scan
    // never holds up ingest, and its writes overlap its own reads.
    const rawReader = await open(opts.path, sqlite3.OPEN_READONLY);
    rawReader.configure('busyTimeout', 10_000);
    const reader = new Kysely<DB>({ dialect: new Sqlite3Dialect(rawReader) });
    handles.push([reader, rawReader]);
    await sql`pragma cache_size = -65536`.execute(reader);
    return { db, reader, unsynced, close };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}

function open(file: string, mode = sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, mode, (err) => (err ? reject(err) : resolve(db)));
  });
}
