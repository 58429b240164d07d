import request from 'supertest';
import type { App } from '../src/app';
import { API_KEY, startApp, tempDir, waitFor } from './support/harness';
import { kafkaEnv, startMockKafka, type MockKafka } from './support/kafka-env';
import { freshPostgresUrl } from './support/postgres';

const key = { 'x-api-key': API_KEY };
/** Enough keys (events are keyed by dataset) that every partition of the topic gets events. */
const DATASETS = 32;
const PER_POST = 100;
/**
 * The stream waits while this many posted events are not applied yet: batches stay small (what a
 * handover may re-read is bounded by one), and the log well inside what the mock keeps.
 */
const AHEAD = 1_000;

interface Member {
  app: App;
  stop(): Promise<void>;
  applied: number;
  /** Messages the applier was given again below the database's applied offset. */
  replayed: number;
  /** The most new events one batch applied: one in-flight batch is what a handover may re-read. */
  largestBatch: number;
}

/**
 * Two instances on one PostgreSQL database and one consumer group (librdkafka's mock cluster):
 * a partition that moves to the other instance and back must be read from what the database has
 * applied, not from where this instance left it.
 */
describe.each([
  ['the classic eager protocol', 'range'],
  ['the cooperative protocol', 'cooperative-sticky'],
])('partitions handed over between two instances, %s', (_name, strategy) => {
  let mock: MockKafka;
  beforeAll(async () => {
    mock = await startMockKafka();
  });
  afterAll(async () => {
    await mock.stop();
  });

  test('when a second instance joins mid-stream and leaves again, then each instance reads the partitions it is given from the applied offsets: at most one in-flight batch is delivered again, and every event counts once', async () => {
    const env = {
      ...kafkaEnv(mock, {
        // A short session: the group settles in seconds after the second instance leaves.
        KAFKA_GROUP_PROTOCOL: 'classic',
        KAFKA_EXTRA_CONFIG: `topic.metadata.refresh.interval.ms=500,session.timeout.ms=6000,partition.assignment.strategy=${strategy}`,
      }),
      DATABASE_URL: await freshPostgresUrl(),
      DATA_DIR: tempDir('dim-rebalance-'),
      STORE_ONPREM_SHARED: 'true',
      STORE_PRIVATE_SHARED: 'true',
      STORE_PUBLIC_SHARED: 'true',
    };
    const join = async (instance: string): Promise<Member> => {
      const started = await startApp({ ...env, INSTANCE_ID: instance });
      const m: Member = { app: started.app, stop: () => started.stop(), applied: 0, replayed: 0, largestBatch: 0 };
      started.app.applier.onApplied((b) => {
        m.applied += b.applied;
        m.replayed += b.replayed;
        m.largestBatch = Math.max(m.largestBatch, b.applied + b.deadLettered);
      });
      return m;
    };
    const a = await join('a');
    let b: Member | undefined;
    try {
      const http = a.app.http;
      const ids: number[] = [];
      for (let i = 0; i < DATASETS; i++)
        ids.push(
          (
            await request(http)
              .post('/api/datasets')
              .set(key)
              .send({ name: `ds-${i}` })
              .expect(201)
          ).body.id,
        );
      const sent = new Map<number, number>(ids.map((id) => [id, 0]));
      let posted = 0;
      const post = async (n: number): Promise<void> => {
        const events = Array.from({ length: n }, (_, i) => ({
          dataset_id: ids[(posted + i) % DATASETS]!,
          type: 'read',
          bytes: 1,
        }));
        await request(http).post('/api/events').set(key).send(events).expect(202);
        for (const e of events) sent.set(e.dataset_id, sent.get(e.dataset_id)! + 1);
        posted += n;
      };
      const applied = () => a.applied + (b?.applied ?? 0);
      let streaming = true;
      const stream = (async () => {
        while (streaming) {
          await waitFor(() => posted - applied() < AHEAD, 'the consumers to keep up', 60_000, 5);
          await post(PER_POST);
        }
      })();
      try {
        await waitFor(() => a.applied >= 2_000, 'the first instance to apply', 30_000);
        b = await join('b');
        // The second instance holds partitions and applies a share of the stream.
        await waitFor(() => b!.applied >= 4_000, 'the second instance to apply its share', 60_000);
      } finally {
        streaming = false;
        await stream;
      }
      const lagOf = async (app: App) => (await request(app.http).get('/api/stream').set(key)).body.lag as number;
      await waitFor(async () => (await lagOf(a.app)) === 0, 'every event to apply', 30_000);
      const appliedByB = b.applied;
      const replayedByB = b.replayed;
      const largest = Math.max(a.largestBatch, b.largestBatch);

      // The second instance leaves: its partitions come back to the first, which held them before.
      await b.stop();
      b = undefined;
      await post(DATASETS * 10);
      await waitFor(
        async () => (await lagOf(a.app)) === 0,
        'the first instance to take every partition back',
        120_000,
        100,
      );

      const metrics = (await request(http).get('/metrics').set(key).expect(200)).text;
      const duplicates = Number(/^dim_events_duplicate_total (\d+)/m.exec(metrics)?.[1] ?? NaN);
      const redelivered = Number(/^dim_events_redelivered_skipped_total (\d+)/m.exec(metrics)?.[1] ?? NaN);
      console.log(
        `${strategy}: ${posted} events, ${appliedByB} applied by the second instance before it left; ` +
          `delivered again below the applied offset: ${replayedByB} to the second when it joined, ` +
          `${a.replayed} to the first once it left (largest batch ${largest}); ` +
          `dim_events_duplicate_total on the first ${duplicates}`,
      );
      // The user's figure: events without ids, so every duplicate is a message read again.
      expect(duplicates).toBe(a.replayed);
      expect(redelivered).toBe(a.replayed);
      // Each handover re-reads at most the batch the old holder was committing when it let go.
      expect(replayedByB).toBeLessThanOrEqual(largest);
      expect(a.replayed).toBeLessThanOrEqual(largest);
      // Nothing lost, nothing counted twice.
      for (const id of ids) {
        const s = await request(http).get(`/api/datasets/${id}/stats`).set(key).expect(200);
        expect([id, s.body.access_count]).toEqual([id, sent.get(id)]);
      }
    } finally {
      await b?.stop();
      await a.stop();
    }
  }, 240_000);
});
