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
import { populateCatalog } from './catalog';
import { ManualClock } from '../platform';
import { emit, rounder, runBench } from './report';

const SIZES = (process.env.BENCH_SCHEDULER_SIZES ?? '100000,300000,1000000').split(',').map(Number);
const round = rounder(2);

async function main(): Promise<void> {
  emit({ machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown cpu'}`, node: process.version });
  let baseUsPerDataset: number | undefined;
  for (const n of SIZES) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dim-bench-sched-'));
    const clock = new ManualClock(Date.UTC(2026, 5, 1));
    const app = new App(
      parseConfig({
        DATA_DIR: dir,
        API_KEY: 'bench-scheduler-key',
        LOG_LEVEL: 'warn',
        PORT: '0',
        SCHEDULER_ENABLED: 'false',
        SQLITE_SYNCHRONOUS: 'NORMAL',
      }),
      { clock },
    );
    await app.start({ listen: false });
    try {
      await populateCatalog(app.database.db, n, clock.now(), { seed: 42, chunk: 50_000 });
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

runBench(main);
