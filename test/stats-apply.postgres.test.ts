import { Database } from '../src/db';
import { ManualClock, createLogger } from '../src/platform';
import { type AppliedOnce, OffsetsRepository, type BusMessage } from '../src/stream';
import { insertDatasets, statsApplier } from './support/database';
import { freshPostgresUrl } from './support/postgres';

const T0 = Date.UTC(2026, 2, 1, 10, 0, 0);
const logger = createLogger('silent');

/** Events without ids: only the stored offsets stand between a replay and a double count. */
function partition(p: number, n: number, datasets: readonly number[]): BusMessage[] {
  return Array.from({ length: n }, (_, offset) => ({
    topic: 'events',
    partition: p,
    offset,
    value: JSON.stringify({
      v: 1,
      dataset_id: datasets[offset % datasets.length],
      type: 'read',
      bytes: 1,
      ts: T0 + offset,
      scan: false,
      received_at: T0 + offset,
    }),
  }));
}

function inBatches(messages: readonly BusMessage[], size: number): BusMessage[][] {
  const out: BusMessage[][] = [];
  for (let i = 0; i < messages.length; i += size) out.push(messages.slice(i, i + size));
  return out;
}

describe('two instances applying the same partitions at once, on PostgreSQL', () => {
  const instances: Database[] = [];
  afterEach(async () => {
    for (const d of instances.splice(0)) await d.stop();
  });

  test('when both apply every stretch of two partitions side by side (a rebalance that overlaps), then each event counts exactly once and the offsets end at the log ends', async () => {
    const url = await freshPostgresUrl();
    for (let i = 0; i < 2; i++) {
      const d = new Database({ path: 'unused.sqlite', synchronous: 'NORMAL', url, logger });
      await d.start();
      instances.push(d);
    }
    const [a, b] = instances as [Database, Database];
    const datasets = [1, 2, 3];
    await insertDatasets(a.db, datasets, { tier: 'WARM', location: 'PRIVATE' });
    const p0 = partition(0, 1_500, datasets);
    const p1 = partition(1, 900, datasets);
    // Each instance gets every message, in batches of its own size that mix both partitions.
    const feed = (applier: AppliedOnce, size: number): Promise<void> =>
      (async () => {
        const zipped = inBatches(p0, size).map((batch, i) => [...batch, ...(inBatches(p1, size)[i] ?? [])]);
        for (const batch of zipped) await applier.apply(batch);
      })();
    const applierOn = (d: Database) => statsApplier(d.db, { clock: new ManualClock(T0), logger, group: 'applied' });
    await Promise.all([feed(applierOn(a), 100), feed(applierOn(b), 70)]);

    const stats = await a.db.selectFrom('dataset_stats').select(['dataset_id', 'reads']).execute();
    expect(stats.reduce((n, r) => n + r.reads, 0)).toBe(1_500 + 900);
    for (const id of datasets) expect(stats.find((r) => r.dataset_id === id)?.reads).toBe(800);
    const buckets = await a.db
      .selectFrom('access_buckets')
      .select((eb) => eb.fn.sum<number>('reads').as('n'))
      .where('res', '=', 'm')
      .executeTakeFirstOrThrow();
    expect(Number(buckets.n)).toBe(2_400);
    const offsets = await new OffsetsRepository(b.db, 'applied').nextOffsets('events');
    expect(Object.fromEntries(offsets)).toEqual({ 0: 1_500, 1: 900 });
    expect(await a.db.selectFrom('dead_letters').selectAll().execute()).toEqual([]);
  });
});
