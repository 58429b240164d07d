import path from 'node:path';
import { Database } from '../src/db';
import { createLogger, systemClock } from '../src/platform';
import {
  APPLIED_OFFSETS,
  EmbeddedBus,
  EventLogRepository,
  OffsetsRepository,
  type BusEvent,
  type BusMessage,
} from '../src/stream';
import { tempDir, waitFor } from './support/harness';

const logger = createLogger('silent');
const options = { maxBatch: 100, maxPending: 10_000, retentionMs: 60_000, pruneIntervalMs: 60_000 };
const event = (i: number): BusEvent => ({
  v: 1,
  dataset_id: 1,
  type: 'read',
  bytes: 1,
  ts: i,
  scan: false,
  received_at: i,
});

describe('readiness after a start with a backlog, on the embedded bus', () => {
  test('when events acknowledged before the start are not applied yet, then the consumer check says catching up with how many until they are', async () => {
    const database = new Database({ path: path.join(tempDir(), 'db.sqlite'), synchronous: 'NORMAL', logger });
    await database.start();
    const db = database.db;
    const offsets = new OffsetsRepository(db, APPLIED_OFFSETS);
    const log = new EventLogRepository(db);
    // A crashed process left 250 acknowledged events in the log.
    await log.append(
      0,
      Array.from({ length: 250 }, (_, i) => ({ dataset_id: 1, payload: JSON.stringify(event(i)) })),
    );
    let open = false;
    const handler = async (batch: BusMessage[]): Promise<void> => {
      await waitFor(() => open, 'the gate', 30_000, 5);
      const next = new Map([[0, batch[batch.length - 1]!.offset + 1]]);
      await db.transaction().execute((trx) => offsets.store(trx, 'embedded', next, Date.now()));
    };
    const bus = new EmbeddedBus({ log, offsets, handler, clock: systemClock, logger, options });
    await bus.start();
    try {
      expect(await bus.health()).toEqual({ bus: 'ok', consumer: 'catching up, 250 acknowledged events pending' });
      await bus.publisher.publish([event(999)]); // new traffic does not hold readiness back
      expect(await bus.health()).toEqual({ bus: 'ok', consumer: 'catching up, 250 acknowledged events pending' });
      open = true;
      await waitFor(async () => (await bus.health()).consumer === 'ok', 'readiness', 15_000);
      expect(await bus.lag()).toBe(0);
    } finally {
      open = true;
      await bus.stop();
      await database.stop();
    }
  });
});
