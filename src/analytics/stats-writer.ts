import type { Kysely } from 'kysely';
import { type DB, together } from '../db';
import { groupBy } from '../platform';
import type { BatchEffect, BusEvent, Rejection } from '../stream';
import { aggregate, bucketDeltas, latePhases } from './aggregate';
import { bucketStart } from './buckets';
import type { StatsRepository } from './stats-repository';

export interface StatsWriterDeps {
  stats: StatsRepository;
}

/**
 * The statistics a batch of events produces: per-dataset totals and decayed sums, and time
 * buckets. It runs inside the stream's exactly-once transaction (`effect`), so the statistics
 * commit together with the offsets and event ids that produced them.
 */
export class StatsWriter {
  constructor(private readonly deps: StatsWriterDeps) {}

  readonly effect: BatchEffect = (trx, events) => this.write(trx, events);

  /** Writes what `events` add; an event for a dataset that no longer exists is refused. */
  async write(trx: Kysely<DB>, events: BusEvent[]): Promise<Rejection[]> {
    const { stats } = this.deps;
    // Sizes too: a read of half a dataset or more counts as large (see large-reads.ts).
    // Both reads in one round trip, both writes in another (see `together`).
    const [known, found] = await together([
      stats.datasetSizes(trx, [...new Set(events.map((e) => e.dataset_id))]),
      stats.batchMarks(trx),
    ]);
    const rejected: Rejection[] = [];
    const kept: BusEvent[] = [];
    for (const event of events) {
      if (known.has(event.dataset_id)) kept.push(event);
      else
        rejected.push({
          event,
          reason: `unknown dataset ${event.dataset_id} (deleted after the event was accepted?)`,
        });
    }
    // Events of minutes a roll-up is rolling right now: wait for it (rare: events of the minute
    // just closed, arriving in the moments the roll takes), so they go to their minutes too.
    const marks = kept.some((e) => inRollWindow(e.ts, found))
      ? { ...found, rolled: await stats.rolledAfterRoll(trx) }
      : found;
    await together([
      stats.addStats(
        trx,
        [...groupBy(kept, (e) => e.dataset_id)].map(([datasetId, evs]) =>
          aggregate(datasetId, evs, known.get(datasetId) ?? 0),
        ),
      ),
      stats.addBuckets(trx, bucketDeltas(kept, marks)),
    ]);
    // Reads in minutes the roll-up has claimed: their phases now, as it will not place them.
    const late = latePhases(kept, marks.claimed);
    if (late.length > 0) await stats.addReadPhases(trx, late);
    return rejected;
  }
}

/** `ts`'s minute is claimed by the roll-up and not yet rolled. */
function inRollWindow(ts: number, marks: { claimed: number; rolled: number }): boolean {
  const minute = bucketStart(ts, 'm');
  return minute >= marks.rolled && minute < marks.claimed;
}
