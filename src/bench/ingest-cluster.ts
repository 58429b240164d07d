import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatasetsRepository } from '../datasets';
import { Database, type Db } from '../db';
import { createLogger } from '../platform';
import { startMockKafka } from '../stream';
import { loadgen } from './load';
import { benchDatabase } from './postgres';
import { emit, rounder } from './report';

const MAIN = path.join(__dirname, '..', 'main.js');
const DATASETS = 1_000;
const round = rounder(1);

interface Instance {
  proc: ChildProcess;
  url: string;
  exited: Promise<unknown>;
}

/** `node dist/src/main.js` as an operator runs it; resolves once it listens. */
function spawnInstance(env: Record<string, string>): Promise<Instance> {
  const proc = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((r) => proc.once('exit', r));
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`an instance did not start in 60 s:\n${out}`)), 60_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /listening on http:\/\/localhost:(\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      // Drained from here on, never kept: a full pipe would stall the instance.
      proc.stdout.off('data', onData);
      proc.stdout.resume();
      resolve({ proc, url: `http://127.0.0.1:${m[1]}`, exited });
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`an instance exited (${String(code)}) before listening:\n${out}`));
    });
  });
}

async function get(url: string, apiKey: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(url, { headers: { 'x-api-key': apiKey } });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Events applied by all the instances so far, from their `/metrics` (each counts its own). */
async function appliedTotal(urls: readonly string[], apiKey: string): Promise<number> {
  let sum = 0;
  for (const url of urls) {
    const r = await fetch(`${url}/metrics`, { headers: { 'x-api-key': apiKey } });
    const m = /^dim_events_applied_total(?:\{[^}]*\})? (\d+)/m.exec(await r.text());
    sum += m ? Number(m[1]) : 0;
  }
  return sum;
}

/** The benches' catalog: `count` (DATASETS) WARM datasets of 1 GB named bench-<i>; returns their ids. */
export function insertBenchDatasets(db: Db, count = DATASETS): Promise<number[]> {
  const now = Date.now();
  const rows = Array.from({ length: count }, (_, i) => ({
    name: `bench-${i}`,
    tags: '[]',
    size_gb: 1,
    tier: 'WARM' as const,
    location: 'PRIVATE' as const,
    created_at: now,
    updated_at: now,
  }));
  return new DatasetsRepository(db).insertMany(rows);
}

/** The catalog the events name, written once before the instances take load. */
async function createDatasets(url: string): Promise<number[]> {
  const database = new Database({ path: '', synchronous: 'FULL', url, logger: createLogger('warn') });
  await database.start();
  try {
    return await insertBenchDatasets(database.db);
  } finally {
    await database.stop();
  }
}

export interface ClusterRun {
  name: string;
  mode: 'batch' | 'single';
  batchSize: number;
  concurrency: number;
}

/**
 * Issue 14's "one and three instances" on PostgreSQL: for each count, that many separate
 * `node dist/src/main.js` processes on one fresh database at `BENCH_POSTGRES_URL`, one topic and
 * group on librdkafka's mock cluster (in this process) and one shared store directory; the load
 * from one separate process, its connections spread over the instances. An event counts as
 * applied once `/api/stream`'s lag (every partition's applied offset against its high
 * watermark, read from the database) is 0 after the load. The ratio is to one instance in the
 * same run.
 */
export async function clusterIngest(runs: ClusterRun[], counts: number[], durationMs: number): Promise<void> {
  const apiKey = 'bench-api-key-0000';
  const mock = await startMockKafka();
  const single = new Map<string, { accepted: number; applied: number }>();
  try {
    for (const n of counts) {
      const pgDb = await benchDatabase();
      if (!pgDb) throw new Error('BENCH_POSTGRES_URL is not set');
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dim-bench-cluster-'));
      const tag = `bench-cluster-${n}-${Date.now()}`;
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: pgDb.url,
        DATA_DIR: dir,
        STORE_ONPREM_SHARED: 'true',
        STORE_PRIVATE_SHARED: 'true',
        STORE_PUBLIC_SHARED: 'true',
        KAFKA_BOOTSTRAP: mock.bootstrap,
        KAFKA_TOPIC: tag,
        KAFKA_GROUP_ID: tag,
        KAFKA_ADMIN_TIMEOUT_MS: '300',
        KAFKA_EXTRA_CONFIG: 'topic.metadata.refresh.interval.ms=500',
        API_KEY: apiKey,
        ENCRYPTION_KEY: randomBytes(32).toString('hex'),
        SESSION_SECRET: randomBytes(32).toString('hex'),
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
      };
      const instances: Instance[] = [];
      try {
        // The first one migrates the database; the others find it migrated.
        instances.push(await spawnInstance({ ...env, INSTANCE_ID: 'bench-1' }));
        for (let i = 2; i <= n; i++) instances.push(await spawnInstance({ ...env, INSTANCE_ID: `bench-${i}` }));
        for (const inst of instances)
          await until('readiness', 90_000, async () => (await get(`${inst.url}/readyz`, apiKey)).status === 200);
        const ids = await createDatasets(pgDb.url);
        const urls = instances.map((i) => i.url);
        for (const run of runs) {
          const before = await appliedTotal(urls, apiKey);
          const started = Date.now();
          const r = await loadgen({
            urls,
            url: urls[0],
            path: '/api/events',
            apiKey,
            ...run,
            durationMs,
            rate: 0,
            datasetIds: ids,
          });
          // Every acknowledged event applied once, by whichever instance held its partition.
          await until(
            'every event applied',
            120_000,
            async () => (await appliedTotal(urls, apiKey)) - before >= r.events,
          );
          const appliedIn = (Date.now() - started) / 1000;
          await until('lag 0', 30_000, async () => (await get(`${urls[0]}/api/stream`, apiKey)).body.lag === 0);
          const appliedCount = (await appliedTotal(urls, apiKey)) - before;
          const accepted = r.events / (r.elapsed_ms / 1000);
          const applied = r.events / appliedIn;
          if (n === counts[0]) single.set(run.name, { accepted, applied });
          const one = n === counts[0] ? undefined : single.get(run.name);
          emit({
            scenario: run.name,
            bus: 'kafka',
            state: 'postgres',
            instances: n,
            accepted_events_per_s: round(accepted),
            applied_events_per_s: round(applied),
            requests_per_s: round((r.ok * 1000) / r.elapsed_ms),
            accepted: r.events,
            applied: appliedCount,
            failed_requests: r.failed,
            concurrency: run.concurrency,
            ...(one
              ? {
                  accepted_vs_one_instance: round(accepted / one.accepted, 2),
                  applied_vs_one_instance: round(applied / one.applied, 2),
                }
              : {}),
            load_average: os.loadavg().map((l) => round(l, 2)),
          });
        }
      } finally {
        for (const inst of instances) inst.proc.kill('SIGTERM');
        await Promise.all(instances.map((i) => i.exited));
        fs.rmSync(dir, { recursive: true, force: true });
        await pgDb.drop();
      }
    }
  } finally {
    await mock.stop();
  }
}
