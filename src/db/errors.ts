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

/** A UNIQUE constraint refused the row; services turn it into 409. */
export function isUniqueViolation(err: unknown): boolean {
  return /UNIQUE constraint failed/.test(messageOf(err) ?? '');
}

/**
 * The statement's data was refused (a constraint, a type mismatch, too big, out of range), as
 * opposed to the database's state (busy, full, I/O): retrying the same data cannot succeed.
 */
export function isDataError(err: unknown): boolean {
  return /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)/.test(codeOf(err) ?? '');
}

/** Another connection holds the lock this one asked for (SQLITE_BUSY / SQLITE_LOCKED). */
export function isBusy(err: unknown): boolean {
  return /^SQLITE_(BUSY|LOCKED)/.test(codeOf(err) ?? '');
}
