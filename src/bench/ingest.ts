/**
 * `npm run bench:ingest`: event ingest throughput and visibility latency, on the embedded bus
 * and on Kafka (librdkafka's mock cluster), with a bare Express JSON route measured in the same
 * run as the baseline. One JSON line per scenario on stdout. With `BENCH_POSTGRES_URL` (a server
 * where the URL's user may create databases) every scenario runs again with its state in
 * PostgreSQL (a fresh database each, dropped after), beside the SQLite figures of the same run.
 *
 * The server runs in this process; the load comes from a separate process (loadgen.js). Every
 * event's ts is its send time, so "visible" latency = when the consumer committed it − ts.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { App } from '../app';
import { parseConfig } from '../config';
import { DatasetsRepository } from '../datasets';
import { startMockKafka, type MockKafka } from '../stream';
import { benchDatabase } from './postgres';
import { emit, rounder, runBench } from './report';

const API_KEY = 'bench-api-key-0000';
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 10_000);
const DATASETS = 1_000;
const LOADGEN = path.join(__dirname, 'loadgen.js');

interface LoadResult {
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  events: number;
  elapsed_ms: number;
}

function loadgen(opts: Record<string, unknown>): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [LOADGEN, JSON.stringify(opts)], { maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err) return reject(new Error(`loadgen failed: ${err.message}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as LoadResult);
    });
  });
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round = rounder(1);

async function bareExpress(concurrency: number): Promise<number> {
  const app = express();
  app.post('/bare', express.json(), (req, res) => {
    res.status(202).json({ accepted: Array.isArray(req.body) ? req.body.length : 1 });
  });
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const r = await loadgen({
    url: `http://127.0.0.1:${port}`,
    path: '/bare',
    apiKey: API_KEY,
    mode: 'single',
    batchSize: 1,
    concurrency,
    durationMs: DURATION_MS,
    rate: 0,
    datasetIds: [1],
  });
  await new Promise<void>((r2) => server.close(() => r2()));
  const rps = (r.ok * 1000) / r.elapsed_ms;
  emit({ scenario: 'bare-express-json-single', concurrency, requests_per_s: round(rps), ok: r.ok, failed: r.failed });
  return rps;
}

async function scenario(
  bus: string,
  env: Record<string, string>,
  runs: Array<{ name: string; mode: 'batch' | 'single'; batchSize: number; concurrency: number; rate: number }>,
  bareRps: number,
  state: 'sqlite' | 'postgres' = 'sqlite',
): Promise<void> {
  const pgDb = state === 'postgres' ? await benchDatabase() : undefined;
  if (state === 'postgres' && !pgDb) throw new Error('BENCH_POSTGRES_URL is not set');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dim-bench-'));
  const app = new App(
    parseConfig({
      ...process.env,
      DATA_DIR: dir,
      API_KEY,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      ...env,
      ...(pgDb ? { DATABASE_URL: pgDb.url } : {}),
    }),
  );
  await app.start();
  try {
    const ids: number[] = [];
    const now = Date.now();
    const rows = Array.from({ length: DATASETS }, (_, i) => ({
      name: `bench-${i}`,
      tags: '[]',
      size_gb: 1,
      tier: 'WARM' as const,
      location: 'PRIVATE' as const,
      created_at: now,
      updated_at: now,
    }));
    ids.push(...(await new DatasetsRepository(app.database.db).insertMany(rows)));

    for (const run of runs) {
      let applied = 0;
      let lastApplied = 0;
      const lat: number[] = [];
      const off = app.applier.onApplied((b) => {
        applied += b.applied;
        lastApplied = b.appliedAt;
        for (const ts of b.eventTs) lat.push(b.appliedAt - ts);
      });
      const started = Date.now();
      const r = await loadgen({
        url: `http://127.0.0.1:${app.port}`,
        path: '/api/events',
        apiKey: API_KEY,
        ...run,
        durationMs: DURATION_MS,
        datasetIds: ids,
      });
      const deadline = Date.now() + 60_000;
      while (applied < r.events && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
      off();
      const sorted = Float64Array.from(lat).sort();
      const seconds = (lastApplied - started) / 1000;
      const line: Record<string, unknown> = {
        scenario: run.name,
        bus,
        state,
        events_per_s: round(applied / seconds),
        requests_per_s: round((r.ok * 1000) / r.elapsed_ms),
        accepted: r.events,
        applied,
        failed_requests: r.failed,
        visible_p50_ms: round(percentile(sorted, 50)),
        visible_p99_ms: round(percentile(sorted, 99)),
        concurrency: run.concurrency,
      };
      if (run.mode === 'single' && run.rate === 0)
        line.ratio_vs_bare_express = round((r.ok * 1000) / r.elapsed_ms / bareRps, 2);
      if (applied < r.events) line.error = `only ${applied} of ${r.events} accepted events applied within 60 s`;
      emit(line);
    }
  } finally {
    await app.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    await pgDb?.drop();
  }
}

async function main(): Promise<void> {
  const only = process.argv[2];
  emit({
    machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    duration_ms: DURATION_MS,
  });
  const bare = await bareExpress(50);
  const runs = [
    {
      name: 'batch-1000-http',
      mode: 'batch' as const,
      batchSize: 1000,
      concurrency: Number(process.env.BENCH_BATCH_CONCURRENCY ?? 8),
      rate: 0,
    },
    { name: 'single-http-50-clients', mode: 'single' as const, batchSize: 1, concurrency: 50, rate: 0 },
    { name: 'single-http-1000-events-per-s', mode: 'single' as const, batchSize: 1, concurrency: 20, rate: 1000 },
  ];
  const selected = process.env.BENCH_SCENARIO ? runs.filter((r) => r.name === process.env.BENCH_SCENARIO) : runs;
  const states = process.env.BENCH_POSTGRES_URL ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const);
  if (!process.env.BENCH_POSTGRES_URL) emit({ note: 'BENCH_POSTGRES_URL unset: SQLite only' });
  for (const state of states) {
    if (!only || only === 'embedded') await scenario('embedded', {}, selected, bare, state);
    if (!only || only === 'kafka') {
      let mock: MockKafka | undefined;
      try {
        mock = await startMockKafka();
        const tag = `bench-${Date.now()}`;
        await scenario(
          'kafka',
          { KAFKA_BOOTSTRAP: mock.bootstrap, KAFKA_TOPIC: tag, KAFKA_GROUP_ID: tag },
          selected,
          bare,
          state,
        );
      } finally {
        await mock?.stop();
      }
    }
  }
}

runBench(main);
