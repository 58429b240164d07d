/**
 * Runs statements of one transaction side by side: the driver queues them on the transaction's
 * one connection in the order given, and the caller waits one round trip for all of them instead
 * of one each. A transaction that holds SQLite's one writer connection holds it for every round
 * trip, and under load each round trip waits a turn of the event loop behind the requests, so the
 * fewer round trips, the sooner the writer is free for the publishers' group commits.
 *
 * Waits for every statement, even after one failed, so none is still running when the
 * transaction rolls back; then throws the first failure in the order given (on PostgreSQL the
 * later ones only say the transaction was aborted by it).
 */
export async function together<T extends readonly unknown[] | []>(
  statements: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(statements);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as {
    -readonly [K in keyof T]: Awaited<T[K]>;
  };
}
