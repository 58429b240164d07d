import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Bulk bytes passing through the main thread (an upload's body, an object store's GET) arrive as
 * socket reads, a new 64 KiB buffer each, dead as soon as they are copied into a ring or sent on.
 * Such buffers are freed only when V8 collects the small objects that hold them, and it waits for
 * tens of MiB of them before it does: at 1 GiB through the S3 store that garbage was the largest
 * part of the peak RSS after the rings. So every COLLECT_EVERY bytes a job passes on, the main
 * thread's young generation is collected: a scavenge of the 2 MiB young generation main keeps
 * (src/young-generation.ts), 0.16 ms alone here; 4–5 ms of wall time each in the server on a
 * machine at load 11–15, with no change in the server's CPU time per run that the noise showed
 * (it frees what V8 would have collected later anyway). The collector comes from a context made
 * while --expose-gc is set, for that instant only (as the AES-GCM workers get theirs).
 */
const COLLECT_EVERY = 8 * 1024 * 1024;

const collect = ((): (() => void) => {
  const exposed = (globalThis as { gc?: (opts: { type: 'minor' }) => void }).gc;
  if (typeof exposed === 'function') return () => exposed({ type: 'minor' });
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? () => (gc as (opts: { type: 'minor' }) => void)({ type: 'minor' }) : () => {};
  } catch {
    return () => {};
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
})();

let passed = 0;

/** `bytes` more went through the main thread for a transfer; collects once COLLECT_EVERY have. */
export function passedThrough(bytes: number): void {
  passed += bytes;
  if (passed < COLLECT_EVERY) return;
  passed = 0;
  collect();
}
