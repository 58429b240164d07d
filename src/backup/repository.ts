import { type Kysely, sql } from 'kysely';
import type { DB } from '../db';

/** The backup's SQL: SQLite's VACUUM INTO writes a consistent copy while writers go on. */
export class BackupRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** A transaction-consistent copy of the whole database into `file`, which must not exist. */
  async vacuumInto(file: string): Promise<void> {
    await sql`vacuum into ${file}`.execute(this.db);
  }
}
