import type { Kysely } from 'kysely';
import type { DB } from './schema';

export type Db = Kysely<DB>;

/** What an engine's opener hands the Database: the writer, the long-scan reader, and how to close both. */
export interface Connections {
  db: Db;
  reader: Db;
  /**
   * The writer, for transactions a power cut may lose because they are redone from what a synced
   * commit kept (SQLite with synchronous=FULL: commits without their own fsync; see
   * Sqlite3Dialect.withoutCommitSync). Absent: the writer itself.
   */
  unsynced?: Db;
  close(): Promise<void>;
}
