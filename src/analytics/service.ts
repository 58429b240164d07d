import { type DatasetsService, iso } from '../datasets';
import type { BucketResolution } from '../db';
import { type Clock, ValidationError } from '../platform';
import { resolutionFor } from './buckets';
import { HALF_LIVES, HALF_LIFE_NAMES, decayTo, ratePerHour } from './decay';
import type { StatsRepository } from './stats-repository';

const MAX_BUCKETS = 10_000;

export interface SeriesPoint {
  bucket_start: string;
  count: number;
  reads: number;
  writes: number;
  scans: number;
  bytes: number;
}

export interface AnalyticsServiceDeps {
  stats: StatsRepository;
  datasets: DatasetsService;
  clock: Clock;
  /** How long buckets of each resolution are kept (to say from when a series is complete). */
  retention: Record<BucketResolution, number>;
}

export class AnalyticsService {
  constructor(private readonly deps: AnalyticsServiceDeps) {}

  /** Totals, first and last access, and access rates decayed to now (so an idle dataset cools). */
  async datasetStats(datasetId: number): Promise<Record<string, unknown>> {
    await this.deps.datasets.get(datasetId);
    const s = await this.deps.stats.get(datasetId);
    const now = this.deps.clock.now();
    const rates: Record<string, unknown> = {};
    for (const name of HALF_LIFE_NAMES) {
      const value = s ? decayTo({ at: s.decay_at, value: s[`decay_${name}`] }, now, HALF_LIVES[name]) : 0;
      rates[name] = {
        half_life_seconds: HALF_LIVES[name] / 1000,
        decayed_count: value,
        events_per_hour: ratePerHour(value, HALF_LIVES[name]),
      };
    }
    return {
      dataset_id: datasetId,
      as_of: iso(now),
      access_count: s ? s.reads + s.writes : 0,
      reads: s?.reads ?? 0,
      writes: s?.writes ?? 0,
      scans: s?.scans ?? 0,
      bytes_read: s?.bytes_read ?? 0,
      bytes_written: s?.bytes_written ?? 0,
      first_access: iso(s?.first_access),
      last_access: iso(s?.last_access),
      rates,
    };
  }

  /**
   * Accesses per bucket over the last `hours`, buckets aligned to UTC multiples of their size,
   * empty buckets as 0, the newest bucket the one holding now.
   */
  async series(
    datasetId: number,
    hours: number,
    bucketMinutes: number,
  ): Promise<{ resolution: BucketResolution; retainedFrom: string; points: SeriesPoint[] }> {
    await this.deps.datasets.get(datasetId);
    const bucketMs = bucketMinutes * 60_000;
    const count = Math.ceil((hours * 3_600_000) / bucketMs);
    if (count > MAX_BUCKETS) {
      throw new ValidationError(
        'bucket_minutes',
        `gives ${count} buckets over ${hours} hours; at most ${MAX_BUCKETS} (use larger buckets)`,
      );
    }
    const now = this.deps.clock.now();
    const end = Math.floor(now / bucketMs) * bucketMs + bucketMs;
    const start = end - count * bucketMs;
    const res = resolutionFor(bucketMs);
    const rows = await this.deps.stats.buckets(datasetId, res, start, end);
    if (res !== 'm') {
      // Minutes the rollup has not reached yet are not in their hour or day: add them here.
      const rolledUntil = await this.deps.stats.rolledUntil();
      if (rolledUntil < end)
        rows.push(...(await this.deps.stats.buckets(datasetId, 'm', Math.max(start, rolledUntil), end)));
    }
    const points: SeriesPoint[] = [];
    for (let t = start; t < end; t += bucketMs) {
      points.push({ bucket_start: new Date(t).toISOString(), count: 0, reads: 0, writes: 0, scans: 0, bytes: 0 });
    }
    for (const r of rows) {
      const p = points[Math.floor((r.bucket_start - start) / bucketMs)];
      if (!p) continue;
      p.reads += r.reads;
      p.writes += r.writes;
      p.scans += r.scans;
      p.bytes += r.bytes;
      p.count += r.reads + r.writes;
    }
    return { resolution: res, retainedFrom: iso(now - this.deps.retention[res])!, points };
  }
}
