import { CompiledQuery, type Kysely } from 'kysely';
import { dialectOf, type DialectName } from './dialect';

/**
 * Bound parameters per statement: SQLite allows 32,766, PostgreSQL 65,535 (its wire protocol
 * counts them in 16 bits); stay well below both.
 */
const MAX_PARAMS = 30_000;
const MAX_ROWS = 2_000;

const valuesCache = new Map<string, string>();

/**
 * `(?,?),(?,?)` for SQLite; `($1,$2),($3,$4)` for PostgreSQL, where a column may carry a cast:
 * PostgreSQL types a VALUES list outside an INSERT from its parameters, and untyped ones are text.
 */
function valuesList(dialect: DialectName, rows: number, cols: number, casts: readonly (string | null)[]): string {
  const key = `${dialect}:${rows}x${cols}:${casts.join(',')}`;
  let v = valuesCache.get(key);
  if (!v) {
    if (dialect === 'sqlite') {
      const row = `(${new Array(cols).fill('?').join(',')})`;
      v = new Array(rows).fill(row).join(',');
    } else {
      const out: string[] = [];
      let n = 0;
      for (let r = 0; r < rows; r++) {
        const cells: string[] = [];
        for (let c = 0; c < cols; c++) {
          const cast = casts[c];
          cells.push(cast ? `cast($${++n} as ${cast})` : `$${++n}`);
        }
        out.push(`(${cells.join(',')})`);
      }
      v = out.join(',');
    }
    if (valuesCache.size > 256) valuesCache.clear();
    valuesCache.set(key, v);
  }
  return v;
}

/**
 * A multi-row statement `head VALUES (…),(…) tail` over `rows`, in chunks of a fixed size, so
 * the SQL text repeats and the driver's prepared-statement cache serves it. The hot paths
 * (event log appends, statistics upserts) use this instead of the query builder: one statement
 * carrying hundreds of rows is what makes SQLite fast, and building an AST per value is not free.
 * `pgCasts`: per column, the type PostgreSQL must read the parameter as (null: inferred), for a
 * VALUES list that is not an INSERT's own.
 */
export async function bulkWrite<DB>(
  db: Kysely<DB>,
  head: string,
  tail: string,
  cols: number,
  rows: ReadonlyArray<readonly unknown[]>,
  pgCasts: readonly (string | null)[] = [],
): Promise<void> {
  const dialect = dialectOf(db);
  const per = Math.max(1, Math.min(MAX_ROWS, Math.floor(MAX_PARAMS / cols)));
  for (let i = 0; i < rows.length; i += per) {
    const part = rows.slice(i, i + per);
    const params: unknown[] = [];
    for (const r of part) for (const v of r) params.push(v);
    const values = valuesList(dialect, part.length, cols, pgCasts);
    await db.executeQuery(CompiledQuery.raw(`${head} values ${values} ${tail}`, params));
  }
}

const jsonSqlCache = new Map<string, string>();
const JSON_ROWS = 5_000;

/**
 * The same multi-row statement as `bulkWrite`, with every row in one JSON parameter that the
 * engine unpacks (SQLite's json_each, PostgreSQL's jsonb_array_elements): the rows cross into
 * the driver as one string instead of rows × cols bound parameters. Binding is main-thread work
 * in sqlite3 (~0.5 µs per parameter here), the unpacking runs on the database's side. Values are
 * numbers, strings or null; `types` gives each column's PostgreSQL type (SQLite keeps JSON's).
 */
export async function bulkWriteJson<DB>(
  db: Kysely<DB>,
  head: string,
  tail: string,
  types: readonly string[],
  rows: ReadonlyArray<readonly unknown[]>,
): Promise<void> {
  const dialect = dialectOf(db);
  const key = `${dialect}:${head}:${tail}`;
  let text = jsonSqlCache.get(key);
  if (text === undefined) {
    // SQLite parses `insert … select … on conflict` only with a where clause on the select.
    text =
      dialect === 'sqlite'
        ? `${head} select ${types.map((_, i) => `value->>${i}`).join(', ')} from json_each(?) where true ${tail}`
        : `${head} select ${types.map((t, i) => `cast(e->>${i} as ${t})`).join(', ')} from jsonb_array_elements(cast($1 as jsonb)) as e ${tail}`;
    if (jsonSqlCache.size > 64) jsonSqlCache.clear();
    jsonSqlCache.set(key, text);
  }
  for (let i = 0; i < rows.length; i += JSON_ROWS) {
    const part = i === 0 && rows.length <= JSON_ROWS ? rows : rows.slice(i, i + JSON_ROWS);
    await db.executeQuery(CompiledQuery.raw(text, [JSON.stringify(part)]));
  }
}

/**
 * Adds each row's values to the columns of the existing row whose `key` matches its first value
 * (`update … from` the rows as one JSON parameter, as `bulkWriteJson` sends them); a row with no
 * match changes nothing. One row per key: an update applies one match per target row.
 * `types` gives each column's PostgreSQL type, the key's first.
 */
export async function bulkAddJson<DB>(
  db: Kysely<DB>,
  table: string,
  columns: readonly string[],
  types: readonly string[],
  rows: ReadonlyArray<readonly unknown[]>,
): Promise<void> {
  if (rows.length === 0) return;
  const dialect = dialectOf(db);
  const [key, ...added] = columns;
  const key_ = `add:${dialect}:${table}:${columns.join(',')}:${types.join(',')}`;
  let text = jsonSqlCache.get(key_);
  if (text === undefined) {
    const cell = (i: number): string =>
      dialect === 'sqlite' ? `(j.value->>${i})` : `cast(j->>${i} as ${types[i] ?? 'double precision'})`;
    const set = added.map((c, i) => `${c} = ${table}.${c} + ${cell(i + 1)}`).join(', ');
    text =
      dialect === 'sqlite'
        ? `update ${table} set ${set} from json_each(?) as j where ${table}.${key} = ${cell(0)}`
        : `update ${table} set ${set} from jsonb_array_elements(cast($1 as jsonb)) as j where ${table}.${key} = ${cell(0)}`;
    if (jsonSqlCache.size > 64) jsonSqlCache.clear();
    jsonSqlCache.set(key_, text);
  }
  for (let i = 0; i < rows.length; i += JSON_ROWS) {
    await db.executeQuery(CompiledQuery.raw(text, [JSON.stringify(rows.slice(i, i + JSON_ROWS))]));
  }
}
