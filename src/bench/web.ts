/**
 * `npm run bench:web`: server time per page with 100,000 datasets (BENCH_WEB_DATASETS to change).
 * The catalog is populated with multi-row inserts (datasets, statistics, a few policies, stored
 * decisions, moves, minute buckets), then each page is requested over HTTP with a signed-in
 * session, sequentially, and timed from request to the last byte. One JSON line per page with
 * p50/p95 in ms (target: under 200 ms each). BENCH_WEB_PAGES limits the run to some pages.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App } from '../app';
import { parseConfig } from '../config';
import { bulkWrite } from '../db';
import { populateCatalog } from './catalog';
import { createLogger } from '../platform';
import { emit, rounder, runBench } from './report';

const N = Number(process.env.BENCH_WEB_DATASETS ?? 100_000);
const RUNS = Number(process.env.BENCH_WEB_RUNS ?? 20);
const DAY = 86_400_000;
const MINUTE = 60_000;
const round = rounder(1);

/** The shared synthetic catalog, plus a stored recommendation for every tenth dataset. */
async function populate(app: App, n: number, now: number): Promise<void> {
  const db = app.database.db;
  await populateCatalog(db, n, now, {
    seed: 7,
    chunk: 20_000,
    onChunk: async (rows) => {
      const decisions = rows
        .filter((r) => r.id % 10 === 0)
        .map((r) => [
          r.id,
          1,
          now,
          'move',
          null,
          r.location,
          r.tier,
          'PUBLIC',
          'COLD',
          3,
          1.5,
          0.2,
          1.3,
          0.1,
          2.3,
          1,
          '[1,1,1,30,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,null,0,0]',
        ]);
      await bulkWrite(
        db,
        'insert into decisions (dataset_id, run_id, made_at, action, rule, from_location, from_tier, to_location, to_tier, forecast_accesses, cost_now_month, cost_target_month, saving_month, move_cost, break_even_days, catalog_version, explanation)',
        '',
        17,
        decisions,
      );
    },
  });
  // Policies for 1%, finished moves for 2%, and the last 15 minutes of minute buckets for 2,000 busy datasets.
  let seed = 11;
  const rand = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const policies: unknown[][] = [];
  for (let id = 50; id <= n; id += 100)
    policies.push([
      id,
      id % 200 === 50 ? 'pinned' : 'never-tier',
      id % 200 === 50 ? 'ONPREM' : null,
      id % 200 === 50 ? 'HOT' : null,
      null,
      now,
    ]);
  await bulkWrite(
    db,
    'insert into dataset_policies (dataset_id, mode, pin_location, pin_tier, max_latency_ms, updated_at)',
    '',
    6,
    policies,
  );
  await populateMoves(db, n, now, rand);
  const buckets: unknown[][] = [];
  const minute = Math.floor(now / MINUTE) * MINUTE;
  for (let id = 1; id <= Math.min(n, 2_000); id++)
    for (let k = 0; k < 15; k++) buckets.push([id, 'm', minute - k * MINUTE, 1 + (id % 7), id % 3, 0, 4096]);
  await bulkWrite(
    db,
    'insert into access_buckets (dataset_id, res, bucket_start, reads, writes, scans, bytes)',
    '',
    7,
    buckets,
  );
}

/** Finished moves for 2% of the datasets, each logged by the scheduler (decision_log): the model's hindsight judges up to 1,000. */
async function populateMoves(db: App['database']['db'], n: number, now: number, rand: () => number): Promise<void> {
  const moves: unknown[][] = [];
  const logged: unknown[][] = [];
  for (let id = 7; id <= n; id += 50) {
    const at = now - Math.floor(rand() * 20 * DAY);
    const size = (1 + (id % 97)) * 1024 ** 3;
    logged.push([
      logged.length + 1,
      id,
      1,
      at,
      'PRIVATE',
      'WARM',
      'PUBLIC',
      'COLD',
      1.5,
      1,
      `[1,${size},${40 + (id % 9)},30,${id % 13},${(id % 13) * 1e6},1,${(id % 5) / 2},${(id % 5) / 2},0,0,1000,0,0.1,0.1,0.1,0.1,${id % 30},200,0,0,null,0,0]`,
    ]);
    moves.push([
      id,
      'WARM',
      'PRIVATE',
      'COLD',
      'PUBLIC',
      id % 700 === 7 ? 'failed' : 'done',
      'policy',
      logged.length,
      1,
      0,
      at,
      at,
      at + 1000,
    ]);
  }
  await bulkWrite(
    db,
    'insert into decision_log (id, dataset_id, run_id, made_at, from_location, from_tier, to_location, to_tier, saving_month, catalog_version, explanation)',
    '',
    11,
    logged,
  );
  await bulkWrite(
    db,
    'insert into moves (dataset_id, from_tier, from_location, to_tier, to_location, state, reason, decision_id, catalog_only, bytes_total, created_at, started_at, finished_at)',
    '',
    13,
    moves,
  );
}

async function main(): Promise<void> {
  emit({
    machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown cpu'}`,
    node: process.version,
    datasets: N,
    runs_per_page: RUNS,
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dim-bench-web-'));
  const logs: string[] = [];
  const app = new App(
    parseConfig({
      DATA_DIR: dir,
      API_KEY: 'bench-web-key-0123',
      LOG_LEVEL: 'warn',
      PORT: '0',
      HOST: '127.0.0.1',
      SCHEDULER_ENABLED: 'false',
      SQLITE_SYNCHRONOUS: 'NORMAL',
    }),
    { logger: createLogger('warn', {}, (l) => void logs.push(l)) },
  );
  await app.start({ listen: true });
  try {
    const t0 = Date.now();
    await populate(app, N, Date.now());
    emit({ populated_s: round((Date.now() - t0) / 1000, 2) });
    const base = `http://127.0.0.1:${app.port}`;
    const first = logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === 'auth.first_user')!;
    const login = await fetch(`${base}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
      body: new URLSearchParams({ username: String(first.username), password: String(first.password) }).toString(),
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const mid = Math.floor(N / 2);
    const pages = [
      '/',
      '/parts/overview/summary',
      '/parts/overview/stream',
      '/parts/overview/activity',
      '/datasets',
      '/datasets?sort=accesses&order=desc',
      '/datasets?sort=size&order=desc&page=100',
      '/datasets?q=ds-4242',
      '/datasets?tier=HOT&location=PUBLIC&mode=never-tier',
      `/datasets/${mid}`,
      `/datasets/${mid}/parts/live`,
      '/moves',
      '/moves/parts/live',
      '/recommendations',
      '/recommendations?tag=none&tier=WARM',
      '/parts/overview/history',
      '/parts/notifications',
      '/policy',
      '/model',
      '/api/model',
    ];
    // BENCH_WEB_PAGES=/datasets,/model: only these (comma-separated, as listed above).
    const only = process.env.BENCH_WEB_PAGES?.split(',');
    for (const p of pages.filter((x) => !only || only.includes(x))) {
      const times: number[] = [];
      let bytes = 0;
      for (let i = 0; i < RUNS + 2; i++) {
        const t = process.hrtime.bigint();
        const res = await fetch(base + p, { headers: { cookie } });
        const body = await res.text();
        const ms = Number(process.hrtime.bigint() - t) / 1e6;
        if (res.status !== 200) throw new Error(`${p}: HTTP ${res.status}: ${body.slice(0, 200)}`);
        bytes = body.length;
        if (i >= 2) times.push(ms); // the first two warm caches and compile templates
      }
      times.sort((a, b) => a - b);
      const q = (f: number): number => times[Math.min(times.length - 1, Math.floor(f * times.length))]!;
      emit({
        page: p,
        p50_ms: round(q(0.5)),
        p95_ms: round(q(0.95)),
        max_ms: round(times[times.length - 1]!),
        html_kb: round(bytes / 1024),
        under_200ms: q(0.95) < 200,
      });
    }
  } finally {
    await app.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

runBench(main);
