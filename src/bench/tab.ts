/**
 * `node dist/src/bench/tab.js` (after a build): what an open tab costs the server, in share of
 * one core. The server runs as its own process on a populated catalog (BENCH_TAB_DATASETS,
 * default 100,000); each fragment a page polls is requested RUNS times and the server's own CPU
 * time (utime + stime from /proc) is divided among them. A tab's cost is the sum over its polls
 * of CPU per poll / poll period, for the page's polls when all are on screen; the client skips
 * polls in a hidden tab and for parts scrolled out of view (public/live.js), so that is the most
 * a visible tab costs. One JSON line per fragment and per page; target: under 1% of a core.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App } from '../app';
import { parseConfig } from '../config';
import { createLogger } from '../platform';
import { populateCatalog } from './catalog';
import { emit, rounder, runBench } from './report';

const N = Number(process.env.BENCH_TAB_DATASETS ?? 100_000);
const RUNS = Number(process.env.BENCH_TAB_RUNS ?? 30);
const round = rounder(3);
const TICK_S = 1 / 100; // /proc's clock ticks (USER_HZ) on Linux

/** What each page polls, and how often (seconds), as its hx-trigger says. */
const PAGES: Record<string, [string, number][]> = {
  overview: [
    ['/parts/overview/summary', 2],
    ['/parts/overview/stream', 5],
    ['/parts/overview/activity', 2],
    ['/parts/overview/gaps', 5],
    ['/parts/overview/care', 10],
  ],
  dataset: [
    ['/datasets/ID/parts/live', 2],
    ['/datasets/ID/parts/series?series=h', 5],
    ['/datasets/ID/parts/decision', 10],
  ],
  moves: [
    ['/moves/parts/live', 2],
    ['/moves/parts/flows', 5],
    ['/moves/parts/recent', 5],
  ],
  policy: [['/policy/parts/scheduler', 10]],
};

function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_S; // utime, stime
}

/** The port the server logged once started (app.started). */
async function started(child: ChildProcess): Promise<number> {
  let out = '';
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the server exited (${code}): ${out.slice(-500)}`)));
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        const l = JSON.parse(line) as Record<string, unknown>;
        if (l.event === 'app.started') resolve(Number(l.port));
      }
    });
  });
}

async function main(): Promise<void> {
  emit({ machine: `${os.cpus().length} cores`, node: process.version, datasets: N, runs_per_fragment: RUNS });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dim-bench-tab-'));
  const env = {
    DATA_DIR: dir,
    API_KEY: 'bench-tab-key-0123',
    PORT: '0',
    HOST: '127.0.0.1',
    SCHEDULER_ENABLED: 'false',
  };
  // Populated by an App in this process, then served by a separate one whose CPU is its own.
  const logs: string[] = [];
  const filler = new App(parseConfig({ ...env, LOG_LEVEL: 'warn' }), {
    logger: createLogger('warn', {}, (l) => void logs.push(l)),
  });
  await filler.start({ listen: false });
  const first = logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === 'auth.first_user')!;
  await populateCatalog(filler.database.db, N, Date.now(), { seed: 7, chunk: 20_000 });
  await filler.stop();
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'main.js')], {
    env: { ...process.env, ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const base = `http://127.0.0.1:${await started(child)}`;
    const login = await fetch(`${base}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
      body: new URLSearchParams({ username: String(first.username), password: String(first.password) }).toString(),
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const id = String(Math.floor(N / 2));
    for (const [page, polls] of Object.entries(PAGES)) {
      let share = 0;
      for (const [p, period] of polls) {
        const url = base + p.replace('ID', id);
        const get = async () => {
          const res = await fetch(url, { headers: { cookie, 'hx-request': 'true' } });
          await res.text();
          if (res.status !== 200) throw new Error(`${p}: HTTP ${res.status}`);
        };
        await get(); // templates compiled, caches warm
        const before = cpuSeconds(child.pid!);
        for (let i = 0; i < RUNS; i++) await get();
        const perPoll = (cpuSeconds(child.pid!) - before) / RUNS;
        share += perPoll / period;
        emit({ page, fragment: p, every_s: period, cpu_ms_per_poll: round(perPoll * 1000, 2) });
      }
      emit({ page, core_share_percent: round(share * 100, 2), under_1_percent: share < 0.01 });
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

runBench(main);
