import type { Kysely } from 'kysely';
import type { DB } from './schema';

export type Db = Kysely<DB>;

/** What an engine's opener hands the Database: the writer, the long-scan reader, and how to close both. */
export interface Connections {
  db: Db;
  reader: Db;
  close(): Promise<void>;
}
