import type { Kysely } from 'kysely';
import { bulkWrite, type DB, type Location, type Tier } from '../db';

const DAY = 86_400_000;
const TIERS = ['HOT', 'WARM', 'COLD'] as const;
const LOCATIONS = ['ONPREM', 'PRIVATE', 'PUBLIC'] as const;

/**
 * A deterministic synthetic catalog for the benchmarks: `n` datasets spread over the nine
 * placements, sizes from megabytes to terabytes, activity from none (most) to busy (a few),
 * written with multi-row SQL in chunks. `onChunk` lets a bench add its own rows per chunk.
 */
export async function populateCatalog(
  db: Kysely<DB>,
  n: number,
  now: number,
  opts: {
    seed: number;
    chunk: number;
    onChunk?: (rows: { id: number; tier: Tier; location: Location }[]) => Promise<void>;
  },
): Promise<void> {
  let seed = opts.seed;
  const rand = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  for (let start = 1; start <= n; start += opts.chunk) {
    const datasets: unknown[][] = [];
    const stats: unknown[][] = [];
    const placed: { id: number; tier: Tier; location: Location }[] = [];
    for (let id = start; id < Math.min(n + 1, start + opts.chunk); id++) {
      const created = now - Math.floor(rand() * 365 * DAY);
      const tier = TIERS[id % 3]!;
      const location = LOCATIONS[Math.floor(id / 3) % 3]!;
      placed.push({ id, tier, location });
      datasets.push([
        id,
        `ds-${id}`,
        '[]',
        Math.round((Math.exp(rand() * 12) / 100) * 1000) / 1000,
        tier,
        location,
        created,
        created,
      ]);
      const activity = Math.pow(rand(), 4); // most datasets quiet, a few busy
      const reads = Math.floor(activity * 100_000);
      if (reads === 0) continue;
      const last = now - Math.floor(rand() * 60 * DAY);
      stats.push([
        id,
        reads,
        Math.floor(reads / 10),
        0,
        reads * 1_000_000,
        0,
        created,
        last,
        last,
        activity * 50,
        activity * 500,
        activity * 3_000,
        activity * 12_000,
      ]);
    }
    await bulkWrite(
      db,
      'insert into datasets (id, name, tags, size_gb, tier, location, created_at, updated_at)',
      '',
      8,
      datasets,
    );
    if (stats.length) {
      await bulkWrite(
        db,
        'insert into dataset_stats (dataset_id, reads, writes, scans, bytes_read, bytes_written, first_access, last_access, decay_at, decay_1h, decay_1d, decay_1w, decay_30d)',
        '',
        13,
        stats,
      );
    }
    await opts.onChunk?.(placed);
  }
}
