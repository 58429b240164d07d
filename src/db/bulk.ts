import { CompiledQuery, type Kysely } from 'kysely';

/** SQLite binds at most 32,766 parameters per statement; stay well below. */
const MAX_PARAMS = 30_000;
const MAX_ROWS = 2_000;

const valuesCache = new Map<string, string>();

function valuesList(rows: number, cols: number): string {
  const key = `${rows}x${cols}`;
  let v = valuesCache.get(key);
  if (!v) {
    const row = `(${new Array(cols).fill('?').join(',')})`;
    v = new Array(rows).fill(row).join(',');
    valuesCache.set(key, v);
  }
  return v;
}

/**
 * A multi-row statement `head VALUES (…),(…) tail` over `rows`, in chunks of a fixed size, so
 * the SQL text repeats and the driver's prepared-statement cache serves it. The hot paths
 * (event log appends, statistics upserts) use this instead of the query builder: one statement
 * carrying hundreds of rows is what makes SQLite fast, and building an AST per value is not free.
 */
export async function bulkWrite<DB>(
  db: Kysely<DB>,
  head: string,
  tail: string,
  cols: number,
  rows: ReadonlyArray<readonly unknown[]>,
): Promise<void> {
  const per = Math.max(1, Math.min(MAX_ROWS, Math.floor(MAX_PARAMS / cols)));
  for (let i = 0; i < rows.length; i += per) {
    const part = rows.slice(i, i + per);
    const params: unknown[] = [];
    for (const r of part) for (const v of r) params.push(v);
    await db.executeQuery(CompiledQuery.raw(`${head} values ${valuesList(part.length, cols)} ${tail}`, params));
  }
}
