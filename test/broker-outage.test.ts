import request from 'supertest';
import { API_KEY, startApp, waitFor } from './support/harness';
import { kafkaEnv, startMockKafka } from './support/kafka-env';
import { startKafkaProxy } from './support/kafka-proxy';

/**
 * SLOW TEST (~90 s with the default outage): the Kafka broker unreachable for a minute under load.
 * BROKER_OUTAGE_SECONDS shortens (or lengthens) the outage; it defaults to 60.
 */
const OUTAGE_MS = Number(process.env.BROKER_OUTAGE_SECONDS ?? '60') * 1000;
const DELIVERY_TIMEOUT_MS = 3_000;
const BATCH = 20;
const WORKERS = 4;
const key = { 'x-api-key': API_KEY };

interface Answer {
  status: number;
  sentAt: number;
  ms: number;
  retryAfter: string | undefined;
}

/**
 * The app on the mock cluster through a proxy; a load of event batches with ids, each re-sent
 * until accepted; the broker out of reach for `outageMs` (`cut`: connections refused; `silent`:
 * requests arrive and are stored, answers are lost); then back. Returns the duplicates the
 * consumer skipped by id.
 */
async function outageUnderLoad(mode: 'cut' | 'silent', outageMs: number): Promise<number> {
  const mock = await startMockKafka();
  const proxy = await startKafkaProxy(mock.bootstrap);
  const s = await startApp(
    kafkaEnv(
      { bootstrap: proxy.bootstrap, stop: async () => undefined },
      {
        KAFKA_DELIVERY_TIMEOUT_MS: String(DELIVERY_TIMEOUT_MS),
        SCHEDULER_ENABLED: 'false',
        LOG_LEVEL: process.env.DEBUG_LOG ?? 'silent',
      },
    ),
  );
  try {
    const http = s.app.http;
    await waitFor(
      async () => (await request(http).get('/readyz')).status === 200,
      'readiness through the proxy',
      30_000,
      100,
    );
    // Through the proxy, not around it: else cutting it would prove nothing.
    expect(proxy.connections).toBeGreaterThan(0);
    const datasets: number[] = [];
    for (const name of ['outage-a', 'outage-b', 'outage-c']) {
      datasets.push((await request(http).post('/api/datasets').set(key).send({ name }).expect(201)).body.id as number);
    }

    // The load: each worker sends batches of events with ids, and re-sends a refused batch (same
    // ids) until it is accepted, as a client honouring the 503 would.
    const answers: Answer[] = [];
    const accepted = new Map<string, number>(); // event id -> dataset
    const unexpected: string[] = [];
    let stopLoad = false;
    let seq = 0;
    const worker = async (w: number): Promise<void> => {
      while (!stopLoad) {
        const b = seq++;
        const batch = Array.from({ length: BATCH }, (_, i) => ({
          id: `w${w}-b${b}-${i}`,
          dataset_id: datasets[(b + i) % datasets.length]!,
          type: i % 4 === 0 ? 'write' : 'read',
          bytes: 3,
        }));
        for (;;) {
          const sentAt = Date.now();
          const r = await request(http).post('/api/events').set(key).send(batch);
          answers.push({ status: r.status, sentAt, ms: Date.now() - sentAt, retryAfter: r.headers['retry-after'] });
          if (r.status === 202) {
            for (const e of batch) accepted.set(e.id, e.dataset_id);
            break;
          }
          if (r.status !== 503) unexpected.push(`${r.status} ${JSON.stringify(r.body)}`);
          // A real client waits Retry-After; a short pause keeps the load on during the outage.
          await new Promise((res) => setTimeout(res, 100));
        }
      }
    };
    const load = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));

    await waitFor(() => accepted.size >= 2_000, '2,000 events accepted before the outage', 30_000, 50);
    const cutAt = Date.now();
    if (mode === 'cut') await proxy.cut();
    else proxy.silence();
    const first503 = await waitFor(
      () => answers.find((a) => a.status === 503 && a.sentAt >= cutAt),
      'the first 503 after the cut',
      DELIVERY_TIMEOUT_MS + 10_000,
      50,
    );
    const firstRefusalMs = first503.sentAt + first503.ms - cutAt;
    const down = await waitFor(
      async () => {
        const r = await request(http).get('/readyz');
        return r.status === 503 ? r.body : undefined;
      },
      '/readyz to show the bus down',
      DELIVERY_TIMEOUT_MS + 10_000,
      100,
    );
    expect(down.checks.bus).toMatch(/Kafka unreachable/);

    // The rest of the outage: /readyz keeps saying so.
    const restoreAt = cutAt + outageMs;
    const readyDuringOutage: number[] = [];
    await waitFor(
      async () => {
        const r = await request(http).get('/readyz');
        if (r.status !== 503) readyDuringOutage.push(r.status);
        return Date.now() >= restoreAt;
      },
      'the end of the outage',
      outageMs + 10_000,
      500,
    );
    expect(readyDuringOutage).toEqual([]);
    await proxy.restore();
    const restoredAt = Date.now();
    await waitFor(
      async () => (await request(http).get('/readyz')).status === 200,
      '/readyz 200 once the broker is back',
      60_000,
      100,
    );
    const readyAgainMs = Date.now() - restoredAt;
    const acceptedBefore = accepted.size;
    await waitFor(
      () => answers.some((a) => a.status === 202 && a.sentAt >= restoredAt) && accepted.size >= acceptedBefore + 1_000,
      'batches accepted again',
      30_000,
      50,
    );
    stopLoad = true;
    await load;

    // During the outage: only 503s, each with Retry-After; once the bus knew it was down, fast.
    expect(unexpected).toEqual([]);
    const during = answers.filter((a) => a.sentAt >= cutAt && a.sentAt + a.ms <= restoredAt);
    expect(during.filter((a) => a.status !== 503)).toEqual([]);
    expect(during.every((a) => /^\d+$/.test(a.retryAfter ?? ''))).toBe(true);
    expect(firstRefusalMs).toBeLessThanOrEqual(DELIVERY_TIMEOUT_MS + 2_000);
    const settled = during
      .filter((a) => a.sentAt >= cutAt + DELIVERY_TIMEOUT_MS + 1_000)
      .map((a) => a.ms)
      .sort((a, b) => a - b);
    expect(settled.length).toBeGreaterThan(50);
    const p99 = settled[Math.floor(settled.length * 0.99)]!;
    expect(p99).toBeLessThan(500);

    // Exactly once: after a marker sent last on each dataset's partition has been applied, each
    // dataset counts its distinct accepted ids, no more, no fewer.
    const expected = new Map<number, number>(datasets.map((d) => [d, 0]));
    for (const d of accepted.values()) expected.set(d, expected.get(d)! + 1);
    for (const d of datasets)
      await request(http)
        .post('/api/events')
        .set(key)
        .send({ id: `marker-${d}`, dataset_id: d, type: 'read' })
        .expect(202);
    for (const d of datasets) {
      const want = expected.get(d)! + 1;
      await waitFor(
        async () => (await request(http).get(`/api/datasets/${d}/stats`)).body.access_count >= want,
        `dataset ${d} to reach ${want} accesses`,
        60_000,
        100,
      );
      expect((await request(http).get(`/api/datasets/${d}/stats`)).body.access_count).toBe(want);
    }
    const refused = answers.filter((a) => a.status === 503).length;
    // Events of refused requests that librdkafka delivered after all, skipped by their ids.
    const metrics = (await request(http).get('/metrics').expect(200)).text;
    const duplicates = Number(/^dim_events_duplicate_total (\d+)/m.exec(metrics)?.[1] ?? 'NaN');
    console.log(
      `broker ${mode === 'cut' ? 'cut off' : 'silent (answers lost)'} for ${outageMs / 1000} s: ${accepted.size} events accepted in ${answers.length} requests (${refused} answered 503); ` +
        `first 503 ${firstRefusalMs} ms after the cut; 503 p99 once known down ${p99} ms over ${settled.length}; ready again ${readyAgainMs} ms after the restore; ${duplicates} duplicate events skipped by id`,
    );
    return duplicates;
  } finally {
    await s.stop();
    await proxy.close();
    await mock.stop();
  }
}

describe('the Kafka broker down for a minute under load', () => {
  test(
    `when the broker is unreachable for ${OUTAGE_MS / 1000} s while batches keep coming, then ingest answers 503 with Retry-After, /readyz says so, the app reconnects by itself, and every accepted event counts exactly once`,
    async () => {
      await outageUnderLoad('cut', OUTAGE_MS);
    },
    OUTAGE_MS + 120_000,
  );

  test('when the broker stores events but its acknowledgements are lost for 10 s, then those requests get 503, and their retries (same ids) count once though the broker has both copies', async () => {
    const duplicates = await outageUnderLoad('silent', 10_000);
    // The events of the 503'd requests that were in flight did reach the log: the retries doubled them there.
    expect(duplicates).toBeGreaterThan(0);
  }, 130_000);
});
