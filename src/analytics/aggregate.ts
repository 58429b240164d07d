import type { Insertable } from 'kysely';
import type { BucketResolution, DB, DatasetStatsTable } from '../db';
import type { BusEvent } from '../stream';
import { bucketStart } from './buckets';
import { HALF_LIVES } from './decay';
import { addLargeRead, isLargeRead, noLargeReads } from './large-reads';
import { addReadPhases, noReadPhases, type READ_PHASE_COLUMNS, type ReadPhases } from './read-phases';

export type BucketDelta = Insertable<DB['access_buckets']>;

/**
 * What a batch adds to a dataset's `dataset_stats` row. The read phases are not in it: the roll-up
 * adds them from the minute buckets (see read-phases.ts), off the applier's path.
 */
export type StatsDelta = Omit<DatasetStatsTable, (typeof READ_PHASE_COLUMNS)[number]>;

/** One dataset's read phases to add to its stats row. */
export type PhaseDelta = ReadPhases & { dataset_id: number };

/**
 * One dataset's events of one batch as a statistics delta: counts, first and last access, the
 * batch's decayed sums referenced at its latest non-scan event, and its large reads against
 * `sizeBytes` (the dataset's size as the batch is applied; see large-reads.ts). Scans never warm
 * a dataset: a batch of scans only carries decay_at 0 and sums 0, which the merge leaves
 * without effect.
 */
export function aggregate(datasetId: number, events: readonly BusEvent[], sizeBytes: number): StatsDelta {
  const row: StatsDelta = {
    dataset_id: datasetId,
    reads: 0,
    writes: 0,
    scans: 0,
    bytes_read: 0,
    bytes_written: 0,
    first_access: null,
    last_access: null,
    decay_at: 0,
    decay_1h: 0,
    decay_1d: 0,
    decay_1w: 0,
    decay_30d: 0,
    ...noLargeReads(),
  };
  let warmAt = -Infinity;
  for (const e of events) {
    if (e.type === 'read') {
      row.reads++;
      row.bytes_read += e.bytes;
    } else {
      row.writes++;
      row.bytes_written += e.bytes;
    }
    if (e.scan) row.scans++;
    else if (e.ts > warmAt) warmAt = e.ts;
    row.first_access = row.first_access === null ? e.ts : Math.min(row.first_access, e.ts);
    row.last_access = row.last_access === null ? e.ts : Math.max(row.last_access, e.ts);
  }
  // In time order, as a replay counts them: bursts are runs of large reads close in time.
  const large = events
    .filter((e) => e.type === 'read' && !e.scan && isLargeRead(e.bytes, sizeBytes))
    .sort((a, b) => a.ts - b.ts);
  for (const e of large) addLargeRead(row, e.ts, e.bytes, sizeBytes, false);
  if (warmAt === -Infinity) return row;
  row.decay_at = warmAt;
  for (const e of events) {
    if (e.scan) continue;
    const age = warmAt - e.ts;
    row.decay_1h += Math.pow(2, -age / HALF_LIVES['1h']);
    row.decay_1d += Math.pow(2, -age / HALF_LIVES['1d']);
    row.decay_1w += Math.pow(2, -age / HALF_LIVES['1w']);
    row.decay_30d += Math.pow(2, -age / HALF_LIVES['30d']);
  }
  return row;
}

/**
 * A batch's additions to the time buckets, by the roll-up's marks (StatsRepository.batchMarks).
 * An event of a minute the roll-up has not claimed goes to its minute bucket: the roll-up adds it
 * to its hour and day later. A late event (its minute claimed) goes to its hour and day here, and
 * to its minute only when that minute was rolled already: a claimed minute not yet rolled takes no
 * more writes, so the roll-up counts what it holds once.
 */
export function bucketDeltas(events: readonly BusEvent[], marks: { claimed: number; rolled: number }): BucketDelta[] {
  const buckets = new Map<string, Required<BucketDelta>>();
  const add = (e: BusEvent, res: BucketResolution): void => {
    const start = bucketStart(e.ts, res);
    const key = `${e.dataset_id}:${res}:${start}`;
    let b = buckets.get(key);
    if (!b) {
      b = {
        dataset_id: e.dataset_id,
        res,
        bucket_start: start,
        reads: 0,
        writes: 0,
        scans: 0,
        bytes: 0,
        user_reads: 0,
      };
      buckets.set(key, b);
    }
    if (e.type === 'read') {
      b.reads++;
      if (!e.scan) b.user_reads++;
    } else b.writes++;
    if (e.scan) b.scans++;
    b.bytes += e.bytes;
  };
  for (const e of events) {
    const minute = bucketStart(e.ts, 'm');
    if (minute >= marks.claimed || minute < marks.rolled) add(e, 'm');
    if (minute < marks.claimed) {
      add(e, 'h');
      add(e, 'd');
    }
  }
  return [...buckets.values()];
}

/**
 * The read phases of the late events in a batch: non-scan reads whose minute the roll-up has
 * claimed, so it will not place them (it places every other read; see read-phases.ts).
 */
export function latePhases(events: readonly BusEvent[], claimed: number): PhaseDelta[] {
  const byDataset = new Map<number, PhaseDelta>();
  for (const e of events) {
    if (e.type !== 'read' || e.scan || bucketStart(e.ts, 'm') >= claimed) continue;
    let d = byDataset.get(e.dataset_id);
    if (!d) byDataset.set(e.dataset_id, (d = { dataset_id: e.dataset_id, ...noReadPhases() }));
    addReadPhases(d, e.ts, 1);
  }
  return [...byDataset.values()];
}

/** Minute buckets' non-scan reads as each dataset's read phases (what the roll-up adds). */
export function minutePhases(
  rows: readonly { dataset_id: number; bucket_start: number; user_reads: number }[],
): PhaseDelta[] {
  const byDataset = new Map<number, PhaseDelta>();
  for (const r of rows) {
    let d = byDataset.get(r.dataset_id);
    if (!d) byDataset.set(r.dataset_id, (d = { dataset_id: r.dataset_id, ...noReadPhases() }));
    addReadPhases(d, r.bucket_start, Number(r.user_reads));
  }
  return [...byDataset.values()];
}
