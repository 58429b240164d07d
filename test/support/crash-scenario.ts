import { spawnApp, type ChildApp } from './child-app';
import { tempDir, waitFor } from './harness';
import { call } from './http-client';

const BATCH = 100;
const BATCHES = 300;
const CONCURRENCY = 4;

/**
 * A client streams batches of events with idempotency keys; the server is killed with SIGKILL
 * mid-stream and restarted; the client re-sends every batch that did not get its 202. Every
 * event acknowledged before the crash survives it, and after the retries each event counts
 * exactly once.
 */
export async function killMidStreamAndRestart(
  env: Record<string, string>,
  signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL',
  restartEnv: Record<string, string> = {},
): Promise<void> {
  const dir = tempDir('dim-crash-');
  let app: ChildApp | undefined = await spawnApp({ DATA_DIR: dir, ...env });
  try {
    await waitFor(async () => (await call(app!.url, 'GET', '/readyz')).status === 200, 'readiness', 60_000, 100);
    const created = await call(app.url, 'POST', '/api/datasets', { name: 'crash-target', size_gb: 1 });
    expect(created.status).toBe(201);
    const id = created.body.id as number;
    const batchOf = (b: number) =>
      Array.from({ length: BATCH }, (_, i) => ({
        id: `crash-${b}-${i}`,
        dataset_id: id,
        type: i % 3 === 0 ? 'write' : 'read',
        bytes: 7,
      }));

    const acked = new Set<number>();
    let nextBatch = 0;
    let killed = false;
    const current = app;
    const worker = async (): Promise<void> => {
      while (nextBatch < BATCHES) {
        const b = nextBatch++;
        try {
          const r = await call(current.url, 'POST', '/api/events', batchOf(b));
          if (r.status === 202) acked.add(b);
        } catch {
          // connection refused or reset: the server is gone; this batch is unacknowledged
        }
        if (!killed && acked.size >= BATCHES / 3) {
          killed = true;
          current.proc.kill(signal);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    expect(killed).toBe(true);
    expect(await current.exited).toBe(signal === 'SIGKILL' ? 'SIGKILL' : 0);
    expect(acked.size).toBeGreaterThanOrEqual(BATCHES / 3);
    expect(acked.size).toBeLessThan(BATCHES);

    app = await spawnApp({ DATA_DIR: dir, ...env, ...restartEnv });
    const url = app.url;
    await waitFor(
      async () => (await call(url, 'GET', '/readyz')).status === 200,
      'readiness after restart',
      60_000,
      100,
    );
    const statsOf = async () =>
      (await call(url, 'GET', `/api/datasets/${id}/stats`)).body as {
        access_count: number;
        bytes_read: number;
        bytes_written: number;
      };

    // Ready means caught up: every event acknowledged before the crash is applied already.
    expect((await statsOf()).access_count).toBeGreaterThanOrEqual(acked.size * BATCH);

    // Nothing acknowledged is lost: once the consumer catches up, at least every acked event counts.
    const lagZero = async () => (await call(url, 'GET', '/api/stream')).body.lag === 0;
    await waitFor(lagZero, 'the consumer to catch up after the restart', 60_000, 50);
    const afterCrash = await statsOf();
    if (signal === 'SIGTERM') {
      // A clean stop answered every request it had taken: nothing was half-done.
      expect(afterCrash.access_count).toBe(acked.size * BATCH);
    }
    expect(afterCrash.access_count).toBeGreaterThanOrEqual(acked.size * BATCH);
    expect(afterCrash.access_count).toBeLessThanOrEqual(BATCHES * BATCH);

    // The client retries what it never got a 202 for, with the same ids.
    for (let b = 0; b < BATCHES; b++) {
      if (acked.has(b)) continue;
      const r = await call(url, 'POST', '/api/events', batchOf(b));
      expect(r.status).toBe(202);
    }
    const total = BATCHES * BATCH;
    const final = await waitFor(
      async () => {
        const s = await statsOf();
        return s.access_count === total && (await lagZero()) ? s : undefined;
      },
      `access_count ${total}`,
      60_000,
      50,
    );
    const writes = Array.from({ length: BATCH }, (_, i) => i).filter((i) => i % 3 === 0).length * BATCHES;
    expect(final.bytes_written).toBe(writes * 7);
    expect(final.bytes_read).toBe((total - writes) * 7);
    // And it stays there: nothing is applied twice later.
    await new Promise((r) => setTimeout(r, 300));
    expect((await statsOf()).access_count).toBe(total);

    // A clean stop exits 0.
    app.proc.kill('SIGTERM');
    expect(await app.exited).toBe(0);
    app = undefined;
  } finally {
    if (app && app.proc.exitCode === null) app.proc.kill('SIGKILL');
  }
}
