import { sql, type ColumnDataType, type ColumnDefinitionBuilder, type Kysely, type RawBuilder } from 'kysely';
import { dialectOf } from '../src/db/dialect';

/**
 * Column spellings for both engines. On SQLite they are exactly what the migrations said before
 * PostgreSQL arrived, so an existing SQLite database migrates as it always did. On PostgreSQL:
 * every integer is `bigint` (times are epoch milliseconds, past int4), `real` is `double
 * precision` (PostgreSQL's `real` is 4 bytes), `blob` is `bytea`, an autoincrement key is an
 * identity column, and `without rowid` (a SQLite storage choice) is dropped.
 */
export interface Portable {
  readonly int: ColumnDataType;
  readonly real: ColumnDataType;
  readonly blob: ColumnDataType;
  /** A generated primary key whose values are never reused. */
  autoId(c: ColumnDefinitionBuilder): ColumnDefinitionBuilder;
  /** Table options after the column list. */
  readonly withoutRowid: RawBuilder<unknown>;
}

export function portable(db: Kysely<unknown>): Portable {
  if (dialectOf(db) === 'postgres') {
    return {
      int: 'bigint',
      real: 'double precision',
      blob: 'bytea',
      autoId: (c) => c.primaryKey().generatedByDefaultAsIdentity(),
      withoutRowid: sql``,
    };
  }
  return {
    int: 'integer',
    real: 'real',
    blob: 'blob',
    autoId: (c) => c.primaryKey().autoIncrement(),
    withoutRowid: sql`without rowid`,
  };
}
