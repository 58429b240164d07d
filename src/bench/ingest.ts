/**
 * `npm run bench:ingest`: event ingest throughput and visibility latency, on the embedded bus
 * and on Kafka (librdkafka's mock cluster), with bare routes measured in the same run as the
 * baselines, in slices alternating with the app's so that both see the same machine state: a
 * bare Express JSON route for single events, a bare durable route (bare-durable.ts: parse + one
 * multi-row INSERT, synchronous=FULL) for batches.
 * One JSON line per scenario on stdout. With `BENCH_POSTGRES_URL` (a server where the URL's user
 * may create databases) every scenario runs again with its state in PostgreSQL (a fresh database
 * each, dropped after), beside the SQLite figures of the same run, and then on Kafka with one
 * and with three instances as separate processes (ingest-cluster.ts; `BENCH_CLUSTER=0` skips it,
 * `BENCH_CLUSTER_INSTANCES=1,2,3` changes the counts). `BENCH_POSTGRES_URL=start` starts a
 * throw-away PostgreSQL 15 cluster for the run. `node dist/src/bench/ingest.js cluster` runs
 * only the instances' part.
 *
 * The server runs in this process; the load comes from a separate process (loadgen.js). Every
 * event's ts is its send time, so "visible" latency = when the consumer committed it − ts.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { App } from '../app';
import { parseConfig } from '../config';
import { startMockKafka, type MockKafka } from '../stream';
import { startBareDurable } from './bare-durable';
import { type LoadResult, loadgen } from './load';
import { clusterIngest, insertBenchDatasets } from './ingest-cluster';
import { KafkaTrace } from './kafka-trace';
import { benchDatabase, startThrowAwayPostgres } from './postgres';
import { emit, rounder, runBench } from './report';

const API_KEY = 'bench-api-key-0000';
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 10_000);

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round = rounder(1);

/** A bare Express JSON route, the yardstick: it answers 202 without doing anything. */
async function startBare(): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  app.post('/bare', express.json(), (req, res) => {
    res.status(202).json({ accepted: Array.isArray(req.body) ? req.body.length : 1 });
  });
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r2) => server.close(() => r2())),
  };
}

async function bareRps(url: string, concurrency: number, durationMs: number): Promise<LoadResult> {
  return loadgen({
    url,
    path: '/bare',
    apiKey: API_KEY,
    mode: 'single',
    batchSize: 1,
    concurrency,
    durationMs,
    rate: 0,
    datasetIds: [1],
  });
}

async function bareExpress(url: string, concurrency: number): Promise<number> {
  const r = await bareRps(url, concurrency, DURATION_MS);
  const rps = (r.ok * 1000) / r.elapsed_ms;
  emit({ scenario: 'bare-express-json-single', concurrency, requests_per_s: round(rps), ok: r.ok, failed: r.failed });
  return rps;
}

interface Run {
  name: string;
  mode: 'batch' | 'single';
  batchSize: number;
  concurrency: number;
  rate: number;
}

const SLICES = 5;
const SHARED_STORES = { STORE_ONPREM_SHARED: 'true', STORE_PRIVATE_SHARED: 'true', STORE_PUBLIC_SHARED: 'true' };

/**
 * The app and the bare route in alternating slices (bare, app, bare, app, …), each pair under
 * the same machine state: on a shared machine, one bare run at the start and the app's later
 * measured the load of the moment as much as the code. `settle`, when given, runs after each
 * app slice and counts in its time and CPU (batches: until the consumer has applied what the
 * slice acknowledged, so none of the app's work spills into the bare route's slice).
 */
async function interleaved(
  load: (durationMs: number) => Promise<LoadResult>,
  bareLoad: (durationMs: number) => Promise<LoadResult>,
  settle?: (acceptedSoFar: number) => Promise<void>,
): Promise<{ r: LoadResult; bareNow: number; bareEvents: number; cpu: { app: number; bare: number } }> {
  const slice = Math.max(1_000, Math.round(DURATION_MS / SLICES));
  const r: LoadResult = { ok: 0, failed: 0, statuses: {}, events: 0, elapsed_ms: 0, timed_out: 0 };
  let bareOk = 0;
  let bareMs = 0;
  let bareEvents = 0;
  // This process's CPU time (every thread: SQLite's, librdkafka's) per request answered.
  const cpu = { app: 0, bare: 0 };
  const cpuOf = (u: NodeJS.CpuUsage): number => u.user + u.system;
  for (let i = 0; i < SLICES; i++) {
    let t = process.cpuUsage();
    const b = await bareLoad(slice);
    cpu.bare += cpuOf(process.cpuUsage(t));
    bareOk += b.ok;
    bareEvents += b.events;
    bareMs += b.elapsed_ms;
    t = process.cpuUsage();
    const a = await load(slice);
    const settling = Date.now();
    await settle?.(r.events + a.events);
    cpu.app += cpuOf(process.cpuUsage(t));
    r.ok += a.ok;
    r.failed += a.failed;
    r.timed_out = (r.timed_out ?? 0) + (a.timed_out ?? 0);
    r.events += a.events;
    r.elapsed_ms += a.elapsed_ms + (settle ? Date.now() - settling : 0);
    for (const [k, n] of Object.entries(a.statuses)) r.statuses[k] = (r.statuses[k] ?? 0) + n;
  }
  return {
    r,
    bareNow: (bareOk * 1000) / bareMs,
    bareEvents: (bareEvents * 1000) / bareMs,
    cpu: { app: cpu.app / Math.max(1, r.ok), bare: cpu.bare / Math.max(1, bareOk) },
  };
}

/** The yardsticks, started once: the bare Express route (its rate in a first run) and the bare durable one. */
interface Bare {
  url: string;
  rps: number;
  durableUrl: string;
}

/**
 * One run against a started app. Single events as fast as they go alternate with the bare
 * Express route, batches as fast as they go with the bare durable route (bare-durable.ts):
 * events_per_s is then the events acknowledged and applied per second of the app's slices, each
 * slice lasting until the consumer has applied what it acknowledged (drain_ms: that wait, summed).
 * Paced runs stand alone.
 */
async function measure(
  app: App,
  run: Run,
  ids: number[],
  bare: Bare,
  labels: { bus: string; state: string },
): Promise<Record<string, unknown>> {
  let applied = 0;
  let lastApplied = 0;
  const lat: number[] = [];
  const off = app.applier.onApplied((b) => {
    applied += b.applied;
    lastApplied = b.appliedAt;
    for (const ts of b.eventTs) lat.push(b.appliedAt - ts);
  });
  // BENCH_TRACE=1: where a paced run's Kafka visibility goes, stage by stage (kafka-trace.ts).
  const trace =
    process.env.BENCH_TRACE === '1' && labels.bus === 'kafka' && run.rate > 0 ? new KafkaTrace() : undefined;
  trace?.install(app.applier);
  const started = Date.now();
  const load = (url: string, route: string) => (durationMs: number) =>
    loadgen({ url, path: route, apiKey: API_KEY, ...run, durationMs, datasetIds: ids });
  const appLoad = load(`http://127.0.0.1:${app.port}`, '/api/events');
  const bareLoad =
    run.rate !== 0
      ? undefined
      : run.mode === 'single'
        ? load(bare.url, '/bare')
        : load(bare.durableUrl, '/bare-durable');
  let drainMs = 0;
  const applyAll = async (accepted: number): Promise<void> => {
    const from = Date.now();
    while (applied < accepted && Date.now() < from + 60_000) await new Promise((res) => setTimeout(res, 5));
    drainMs += Date.now() - from;
  };
  const { r, bareNow, bareEvents, cpu } = bareLoad
    ? await interleaved(appLoad, bareLoad, run.mode === 'batch' ? applyAll : undefined)
    : { r: await appLoad(DURATION_MS), bareNow: bare.rps, bareEvents: 0, cpu: undefined };
  const deadline = Date.now() + 60_000;
  while (applied < r.events && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
  off();
  trace?.uninstall();
  const sorted = Float64Array.from(lat).sort();
  // Interleaved with a bare route's slices: the events arrived within the app's slices only.
  const seconds = bareLoad ? r.elapsed_ms / 1000 : (lastApplied - started) / 1000;
  const line: Record<string, unknown> = {
    scenario: run.name,
    ...labels,
    events_per_s: round((bareLoad ? r.events : applied) / seconds),
    requests_per_s: round((r.ok * 1000) / r.elapsed_ms),
    accepted: r.events,
    applied,
    failed_requests: r.failed,
    unanswered_requests: r.timed_out ?? 0,
    visible_p50_ms: round(percentile(sorted, 50)),
    visible_p99_ms: round(percentile(sorted, 99)),
    concurrency: run.concurrency,
  };
  if (bareLoad && run.mode === 'single') {
    line.bare_express_requests_per_s = round(bareNow);
    // CPU per request, app and bare: the ratio a CPU-bound machine would show.
    line.cpu_us_per_request = round(cpu!.app);
    line.bare_cpu_us_per_request = round(cpu!.bare);
    line.ratio_vs_bare_express = round((r.ok * 1000) / r.elapsed_ms / bareNow, 2);
  } else if (bareLoad) {
    line.drain_ms = drainMs;
    line.bare_durable_events_per_s = round(bareEvents);
    // This process's CPU per event (every thread), app and bare durable route.
    line.cpu_us_per_event = round(cpu!.app / run.batchSize, 2);
    line.bare_durable_cpu_us_per_event = round(cpu!.bare / run.batchSize, 2);
    line.ratio_vs_bare_durable = round(r.events / (r.elapsed_ms / 1000) / bareEvents, 2);
  }
  if (trace) line.trace = trace.summary();
  if (applied < r.events) line.error = `only ${applied} of ${r.events} accepted events applied within 60 s`;
  return line;
}

async function scenario(
  bus: string,
  env: Record<string, string>,
  runs: Run[],
  bare: Bare,
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
      // One instance here, but PostgreSQL admits several: its stores are declared shared.
      ...(pgDb ? { DATABASE_URL: pgDb.url, ...SHARED_STORES } : {}),
    }),
  );
  await app.start();
  try {
    const ids = await insertBenchDatasets(app.database.db);

    for (const run of runs) emit(await measure(app, run, ids, bare, { bus, state }));
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
  const bareServer = await startBare();
  const durableServer = await startBareDurable();
  const bare = { url: bareServer.url, rps: await bareExpress(bareServer.url, 50), durableUrl: durableServer.url };
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
  const pgServer = process.env.BENCH_POSTGRES_URL === 'start' ? await startThrowAwayPostgres() : undefined;
  try {
    await onEachState(only, selected, bare);
    if (process.env.BENCH_POSTGRES_URL && process.env.BENCH_CLUSTER !== '0' && (!only || only === 'cluster')) {
      const counts = (process.env.BENCH_CLUSTER_INSTANCES ?? '1,3').split(',').map(Number);
      await clusterIngest(
        selected.filter((r) => r.rate === 0),
        counts,
        DURATION_MS,
      );
    }
  } finally {
    pgServer?.stop();
  }
  await bareServer.close();
  await durableServer.close();
}

async function onEachState(only: string | undefined, selected: Run[], bare: Bare): Promise<void> {
  const states = process.env.BENCH_POSTGRES_URL ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const);
  if (!process.env.BENCH_POSTGRES_URL) emit({ note: 'BENCH_POSTGRES_URL unset: SQLite only' });
  for (const state of states) {
    if (only === 'cluster') return;
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
