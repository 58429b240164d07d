/**
 * `npm run bench:stats`: the statistics' two writers over the same events, on a fresh SQLite
 * database (or the empty PostgreSQL database at BENCH_STATS_DATABASE_URL): the stream applier's
 * statistics (each batch in its own transaction, as the applier runs it) and then the roll-up that
 * passes the minutes they fell in. BENCH_STATS_EVENTS_PER_MINUTE (20,000) events a minute over
 * BENCH_STATS_DATASETS (1,000) datasets, for BENCH_STATS_MINUTES (10) minutes; reads, writes and
 * scans as a busy fleet has them. One JSON line: wall time per event in each writer. Where a cost
 * moves between the two (the read phases did in migration 024), both figures move. Batches wait
 * only for the roll-up's claim (on PostgreSQL; SQLite's one writer waits for all of it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StatsRepository, StatsWriter } from '../analytics';
import { Database } from '../db';
import { createLogger } from '../platform';
import type { BusEvent } from '../stream';
import { insertBenchDatasets } from './ingest-cluster';
import { emit, rounder, runBench } from './report';

const MINUTE = 60_000;
const MINUTES = Number(process.env.BENCH_STATS_MINUTES ?? 10);
const PER_MINUTE = Number(process.env.BENCH_STATS_EVENTS_PER_MINUTE ?? 20_000);
const DATASETS = Number(process.env.BENCH_STATS_DATASETS ?? 1_000);
const BATCH = 1_000;
const round = rounder(2);

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dim-bench-stats-'));
  const database = new Database({
    path: path.join(dir, 'db.sqlite'),
    url: process.env.BENCH_STATS_DATABASE_URL,
    synchronous: 'NORMAL',
    logger: createLogger('warn'),
  });
  await database.start();
  try {
    const ids = await insertBenchDatasets(database.db, DATASETS);
    const stats = new StatsRepository(database.db);
    const writer = new StatsWriter({ stats });
    const t0 = Math.floor(Date.now() / MINUTE) * MINUTE - (MINUTES + 5) * MINUTE;
    await stats.rollUp(t0);
    let events = 0;
    let applyMs = 0;
    for (let m = 0; m < MINUTES; m++) {
      for (let b = 0; b < PER_MINUTE; b += BATCH) {
        const batch: BusEvent[] = [];
        for (let k = 0; k < BATCH; k++) {
          const ts = t0 + m * MINUTE + Math.floor(((b + k) / PER_MINUTE) * (MINUTE - 1));
          batch.push({
            v: 1,
            dataset_id: ids[(b + k * 7 + m) % ids.length]!,
            type: k % 10 === 0 ? 'write' : 'read',
            bytes: 4096,
            ts,
            received_at: ts,
            scan: k % 50 === 1,
          });
        }
        const start = performance.now();
        await database.db.transaction().execute((trx) => writer.write(trx, batch));
        applyMs += performance.now() - start;
        events += batch.length;
      }
    }
    // The roll-up's two steps apart: batches wait only for the first (on PostgreSQL).
    const start = performance.now();
    await stats.claimMinutes(t0 + MINUTES * MINUTE);
    const claimMs = performance.now() - start;
    const hourBuckets = await stats.rollClaimed();
    const rollUpMs = performance.now() - start;
    emit({
      scenario: 'stats-apply-then-roll-up',
      state: database.dialect,
      datasets: ids.length,
      events,
      minutes: MINUTES,
      apply_ms: Math.round(applyMs),
      apply_us_per_event: round((applyMs * 1000) / events),
      roll_up_ms: Math.round(rollUpMs),
      roll_up_claim_ms: round(claimMs),
      roll_up_hour_buckets: hourBuckets,
      roll_up_us_per_event: round((rollUpMs * 1000) / events),
    });
  } finally {
    await database.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

runBench(main);
