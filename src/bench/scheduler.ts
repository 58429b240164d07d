/**
 * `npm run bench:scheduler`: one scheduler run over N datasets (100k, 300k and 1M by default;
 * BENCH_SCHEDULER_SIZES=100000,1000000 to choose), each with statistics, on a fresh database.
 * For each size: the first run (every decision is new, so all are written) and a second run
 * an hour later (only decisions that changed are rewritten), in seconds and datasets per second,
 * with the per-dataset time as a ratio to the smallest size's (1.0 = linear). One JSON line each.
 */
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { App } from '../app';
import { parseConfig } from '../config';
import { bulkWrite } from '../db/bulk';
import { ManualClock } from '../platform/clock';

const DAY = 86_400_000;
const SIZES = (process.env.BENCH_SCHEDULER_SIZES ?? '100000,300000,1000000').split(',').map(Number);
const emit = (o: Record<string, unknown>): void => void process.stdout.write(JSON.stringify(o) + '\n');
const round = (n: number, d = 2): number => Math.round(n * 10 ** d) / 10 ** d;

/** A deterministic catalog of `n` datasets whose use ranges from untouched to busy. */
async function populate(app: App, n: number, now: number): Promise<void> {
  const db = app.database.db;
  let seed = 42;
  const rand = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const tiers = ['HOT', 'WARM', 'COLD'] as const;
  const locations = ['ONPREM', 'PRIVATE', 'PUBLIC'] as const;
  const CHUNK = 50_000;
  for (let start = 1; start <= n; start += CHUNK) {
    const datasets: unknown[][] = [];
    const stats: unknown[][] = [];
    for (let id = start; id < Math.min(n + 1, start + CHUNK); id++) {
      const created = now - Math.floor(rand() * 365 * DAY);
      datasets.push([id, `ds-${id}`, '[]', round(Math.exp(rand() * 12) / 100, 3), tiers[id % 3]!, locations[Math.floor(id / 3) % 3]!, created, created]);
      const activity = Math.pow(rand(), 4); // most datasets quiet, a few busy
      const reads = Math.floor(activity * 100_000);
      if (reads === 0) continue;
      const last = now - Math.floor(rand() * 60 * DAY);
      stats.push([id, reads, Math.floor(reads / 10), 0, reads * 1_000_000, 0, created, last, last, activity * 50, activity * 500, activity * 3_000, activity * 12_000]);
    }
    await bulkWrite(db, 'insert into datasets (id, name, tags, size_gb, tier, location, created_at, updated_at)', '', 8, datasets);
    if (stats.length) {
      await bulkWrite(db, 'insert into dataset_stats (dataset_id, reads, writes, scans, bytes_read, bytes_written, first_access, last_access, decay_at, decay_1h, decay_1d, decay_1w, decay_30d)', '', 13, stats);
    }
  }
}

async function main(): Promise<void> {
  emit({ machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown cpu'}`, node: process.version });
  let baseUsPerDataset: number | undefined;
  for (const n of SIZES) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dim-bench-sched-'));
    const clock = new ManualClock(Date.UTC(2026, 5, 1));
    const app = new App(parseConfig({ DATA_DIR: dir, API_KEY: 'bench-scheduler-key', LOG_LEVEL: 'warn', PORT: '0', SCHEDULER_ENABLED: 'false', SQLITE_SYNCHRONOUS: 'NORMAL' }), { clock });
    await app.start({ listen: false });
    try {
      await populate(app, n, clock.now());
      const first = await app.scheduler.run('bench');
      clock.advance(3_600_000);
      const second = await app.scheduler.run('bench');
      const us = (second.seconds * 1e6) / n;
      baseUsPerDataset ??= us;
      emit({
        datasets: n,
        first_run_s: round(first.seconds),
        first_run_decisions_written: first.decisions_written,
        first_run_moves: first.moves.length,
        first_run_phases_ms: first.phases_ms,
        second_run_s: round(second.seconds),
        second_run_decisions_written: second.decisions_written,
        second_run_phases_ms: second.phases_ms,
        datasets_per_s: Math.round(n / second.seconds),
        us_per_dataset_vs_smallest: round(us / baseUsPerDataset),
        peak_rss_mib: round(process.resourceUsage().maxRSS / 1024, 0),
      });
    } finally {
      await app.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
