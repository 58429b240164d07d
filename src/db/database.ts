import { Migrator, sql, type MigrationProvider } from 'kysely';
import { migrations } from '../../migrations';
import type { Health, Logger, Service } from '../platform';
import type { Connections, Db } from './connections';
import type { DialectName } from './dialect';
import { openSqlite } from './sqlite-open';

export type { Db };

export interface DatabaseOptions {
  /** The SQLite file, when `url` is not given. */
  path: string;
  synchronous: 'FULL' | 'NORMAL';
  /** `postgres://…`: the shared PostgreSQL database instead of the SQLite file. */
  url?: string;
  /** PostgreSQL connections per instance. */
  poolSize?: number;
  logger: Logger;
}

/**
 * The database front door, on either engine: opens it, migrates it (one migration history for
 * both), answers health checks, closes it.
 */
export class Database implements Service {
  readonly name = 'database';
  readonly dialect: DialectName;
  private conns: Connections | undefined;

  constructor(private readonly opts: DatabaseOptions) {
    this.dialect = opts.url ? 'postgres' : 'sqlite';
  }

  get db(): Db {
    if (!this.conns) throw new Error('database is not open');
    return this.conns.db;
  }

  /**
   * For long scans: on SQLite a second, read-only connection that reads a WAL snapshot while the
   * writer goes on; on PostgreSQL the same pool (every connection reads beside the writers).
   */
  get reader(): Db {
    if (!this.conns) throw new Error('database is not open');
    return this.conns.reader;
  }

  /**
   * The writer for transactions whose loss in a power cut is redone from what a synced commit
   * kept (the embedded log's consumer: its events are in the log). On SQLite with
   * synchronous=FULL their commits skip their own fsync; otherwise the writer itself.
   */
  get unsynced(): Db {
    if (!this.conns) throw new Error('database is not open');
    return this.conns.unsynced ?? this.conns.db;
  }

  get isOpen(): boolean {
    return this.conns !== undefined;
  }

  async start(): Promise<void> {
    if (this.conns) return;
    const migrate = (db: Db): Promise<void> => this.migrate(db);
    if (this.opts.url) {
      // pg is loaded only for a PostgreSQL state: a server on SQLite never holds it (~5 MiB RSS).
      const { openPostgres, redactUrl } = await import('./postgres-open');
      this.opts.logger.info('db.open', { dialect: 'postgres', url: redactUrl(this.opts.url) });
      this.conns = await openPostgres(
        { url: this.opts.url, poolSize: this.opts.poolSize ?? 10, logger: this.opts.logger },
        migrate,
      );
    } else {
      this.conns = await openSqlite({ path: this.opts.path, synchronous: this.opts.synchronous }, migrate);
    }
  }

  private async migrate(db: Db): Promise<void> {
    const provider: MigrationProvider = { getMigrations: async () => migrations };
    // On PostgreSQL the Migrator holds an advisory lock: instances starting together migrate once.
    const migrator = new Migrator({ db, provider });
    const { error, results } = await migrator.migrateToLatest();
    for (const r of results ?? []) {
      this.opts.logger.info('db.migration', { migration: r.migrationName, status: r.status });
    }
    if (error) throw error instanceof Error ? error : new Error(`migration failed: ${JSON.stringify(error)}`);
  }

  async ping(): Promise<boolean> {
    if (!this.conns) return false;
    try {
      await sql`select 1`.execute(this.conns.db);
      return true;
    } catch {
      return false;
    }
  }

  /** For `/readyz`. */
  async health(): Promise<Health> {
    if (!this.conns) return { database: 'database not open' };
    return { database: (await this.ping()) ? 'ok' : `${this.dialect} not answering` };
  }

  async stop(): Promise<void> {
    const conns = this.conns;
    this.conns = undefined;
    if (conns) await conns.close();
  }
}
