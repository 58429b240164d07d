/**
 * After a short batch, a consumer (the embedded log's, Kafka's) waits before it reads again. Its
 * transaction holds the one connection the publishers' group commits need too: applying every small group as it lands
 * made each acknowledged request wait for the consumer's commit as well as its own. It waits at
 * least COALESCE_MS, and twice as long as its last transaction took (at most MAX_COALESCE_MS),
 * so it holds the connection at most a third of the time whatever that transaction costs under
 * load; unloaded, a transaction takes a few ms and visibility stays within ~10 ms. On Kafka the
 * publishers do not wait on that connection, but each transaction costs the main thread its
 * round trips and statements whatever its size: fewer, larger ones leave more to the requests.
 */
const COALESCE_MS = 10;
const MAX_COALESCE_MS = 60;

/** How long the consumer waits after a short batch whose transaction took `applyMs`. */
export function coalesceMs(applyMs: number): number {
  return Math.min(MAX_COALESCE_MS, Math.max(COALESCE_MS, 2 * applyMs));
}
