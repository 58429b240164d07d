import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sqlite3 from 'sqlite3';
import { isBusy } from '../db';
import { AppError, type Service } from '../platform';

const LOCK = 'instance.lock';
const HOLDER = 'instance.lock.json';

/**
 * One process per SQLite data directory: an exclusive SQLite lock on DATA_DIR/instance.lock,
 * held for the life of the process. The operating system drops it when the process dies, even
 * by SIGKILL, so a stale lock never blocks a restart, and no pid is ever guessed alive or dead.
 * Who holds it is written beside it, for the refusal's message.
 */
export class DataDirLock implements Service {
  readonly name = 'data-dir-lock';
  private conn: sqlite3.Database | undefined;

  constructor(
    private readonly dataDir: string,
    private readonly instance: string,
  ) {}

  async start(): Promise<void> {
    if (this.conn) return;
    fs.mkdirSync(this.dataDir, { recursive: true });
    const conn = await open(path.join(this.dataDir, LOCK));
    conn.configure('busyTimeout', 0);
    try {
      // Exclusive locking mode keeps the lock past the transaction's statements, until close.
      await run(conn, 'pragma locking_mode = exclusive');
      await run(conn, 'begin exclusive');
    } catch (err) {
      await close(conn);
      if (isBusy(err)) throw this.refusal();
      throw err;
    }
    this.conn = conn;
    const holder = { pid: process.pid, host: os.hostname(), instance: this.instance, since: new Date().toISOString() };
    fs.writeFileSync(path.join(this.dataDir, HOLDER), JSON.stringify(holder) + '\n');
  }

  async stop(): Promise<void> {
    const conn = this.conn;
    this.conn = undefined;
    if (!conn) return;
    fs.rmSync(path.join(this.dataDir, HOLDER), { force: true });
    await close(conn);
  }

  private refusal(): AppError {
    let who = 'another process';
    try {
      const h = JSON.parse(fs.readFileSync(path.join(this.dataDir, HOLDER), 'utf8')) as Record<string, unknown>;
      who = `another instance (pid ${String(h.pid)} on ${String(h.host)}, ${String(h.instance)}, since ${String(h.since)})`;
    } catch {
      // The holder has not written its name yet, or removed it while stopping.
    }
    return new AppError(
      409,
      `refusing to start: ${who} is using the data directory ${this.dataDir}: SQLite serves one instance. Stop that ` +
        'instance, or give this one its own DATA_DIR; to run several instances on one state, set ' +
        'DATABASE_URL to a PostgreSQL database.',
    );
  }
}

function open(file: string): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, (err) => (err ? reject(err) : resolve(db)));
  });
}

function run(conn: sqlite3.Database, statement: string): Promise<void> {
  return new Promise((resolve, reject) => conn.run(statement, (err) => (err ? reject(err) : resolve())));
}

function close(conn: sqlite3.Database): Promise<void> {
  return new Promise((resolve) => conn.close(() => resolve()));
}
