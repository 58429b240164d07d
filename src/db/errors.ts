/**
 * What a database error means, decided in one place. Duck-typed: errors from the native driver
 * may come from another realm (jest's sandbox), so `instanceof` cannot be trusted.
 */

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(err: unknown): string | undefined {
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : undefined;
}

/** PostgreSQL's SQLSTATE codes are five characters; SQLite's driver says `SQLITE_…`. */
const SQLSTATE = /^[0-9A-Z]{5}$/;

/** A UNIQUE constraint refused the row; services turn it into 409. */
export function isUniqueViolation(err: unknown): boolean {
  return codeOf(err) === PG_UNIQUE_VIOLATION || /UNIQUE constraint failed/.test(messageOf(err) ?? '');
}

const PG_UNIQUE_VIOLATION = '23505';

/**
 * The statement's data was refused (a constraint, a type mismatch, too big, out of range), as
 * opposed to the database's state (busy, full, I/O): retrying the same data cannot succeed.
 */
export function isDataError(err: unknown): boolean {
  const code = codeOf(err) ?? '';
  // PostgreSQL: class 22 (data exception: out of range, bad text) and 23 (integrity constraint).
  if (SQLSTATE.test(code)) return code.startsWith('22') || code.startsWith('23');
  return /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)/.test(code);
}

/** Another connection holds the lock this one asked for (SQLITE_BUSY / SQLITE_LOCKED). */
export function isBusy(err: unknown): boolean {
  return /^SQLITE_(BUSY|LOCKED)/.test(codeOf(err) ?? '');
}
