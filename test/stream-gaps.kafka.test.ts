import Kafka from '@confluentinc/kafka-javascript';
import request from 'supertest';
import { API_KEY, startServer, waitFor } from './support/harness';
import { kafkaEnv, startMockKafka } from './support/kafka-env';
import { signIn, startWebApp } from './support/web-harness';

const key = { 'x-api-key': API_KEY };
/** The mock cluster keeps about 5 MiB per partition: 80 records of 100 kB push the oldest out. */
const PADDED = 80;
const PAD = 'x'.repeat(100_000);

function produce(bootstrap: string, topic: string, datasetId: number, n: number): Promise<void> {
  const p = new Kafka.Producer({ 'bootstrap.servers': bootstrap, dr_cb: true, 'linger.ms': 5 });
  return new Promise((resolve, reject) => {
    p.connect({ timeout: 10_000 }, (err) => {
      if (err) return reject(new Error(err.message));
      let left = n;
      p.on('delivery-report', (e) => {
        if (e) reject(new Error(e.message));
        else if (--left === 0) p.disconnect(() => resolve());
      });
      p.setPollInterval(10);
      for (let i = 0; i < n; i++) {
        const ts = Date.now();
        const event = {
          v: 1,
          id: `pad-${i}`,
          dataset_id: datasetId,
          type: 'read',
          bytes: 1,
          ts,
          scan: false,
          received_at: ts,
          pad: PAD,
        };
        p.produce(topic, null, Buffer.from(JSON.stringify(event)), String(datasetId), ts);
      }
    });
  });
}

describe('a stretch of the Kafka log gone before it was applied', () => {
  test('when the consumer finds its offset out of range, then the lost range is recorded, counted in /metrics and shown on the overview until an operator acknowledges it', async () => {
    const mock = await startMockKafka();
    try {
      const env = kafkaEnv(mock);
      const first = await startWebApp(env);
      const admin = first.admin;
      let id: number;
      try {
        const http = first.app.http;
        id = (await request(http).post('/api/datasets').set(key).send({ name: 'gappy' }).expect(201)).body.id as number;
        await request(http)
          .post('/api/events')
          .set(key)
          .send(Array.from({ length: 5 }, (_, i) => ({ id: `early-${i}`, dataset_id: id, type: 'read' })))
          .expect(202);
        await waitFor(async () => (await request(http).get(`/api/datasets/${id}/stats`)).body.reads === 5, '5 reads');
      } finally {
        await first.stop();
      }

      // While no consumer runs, the log moves on and its head (the 5 applied, and more) is dropped.
      await produce(mock.bootstrap, env.KAFKA_TOPIC!, id, PADDED);

      const s = await startServer({ ...env, DATA_DIR: first.dir, LOG_LEVEL: 'silent' });
      try {
        const metrics = await waitFor(
          async () => {
            const text = (await request(s.app.http).get('/metrics')).text;
            // The counter moves when the batch commits, the gauge is read at scrape: wait for both.
            return /^dim_stream_gaps_total 1$/m.test(text) && /^dim_stream_gaps_unacknowledged 1$/m.test(text)
              ? text
              : undefined;
          },
          'the gap to be counted',
          60_000,
          100,
        );
        const lost = Number(/^dim_events_lost_total (\d+)$/m.exec(metrics)?.[1]);
        expect(lost).toBeGreaterThan(0);
        expect(lost).toBeLessThan(PADDED);
        expect((await request(s.app.http).get('/api/stream')).body.gaps_unacknowledged).toBe(1);
        // What was still there is applied: the 5 early reads, and the padded events after the gap.
        await waitFor(
          async () => (await request(s.app.http).get(`/api/datasets/${id}/stats`)).body.reads === 5 + PADDED - lost,
          'the rest of the log to be applied',
        );

        const op = await signIn(s.url, admin.username, admin.password);
        const overview = await (await fetch(`${s.url}/`, { headers: { cookie: op.cookie } })).text();
        const gapId = /data-gap-id="(\d+)"/.exec(overview)?.[1];
        expect(gapId).toBeDefined();
        expect(overview).toContain(`(${lost} events)`);
        expect(overview).toMatch(/hx-post="\/gaps\/\d+\/acknowledge"/);

        const ack = await fetch(`${s.url}/gaps/${gapId}/acknowledge`, {
          method: 'POST',
          headers: { origin: s.url, cookie: op.cookie, 'x-csrf-token': op.csrf, 'hx-request': 'true' },
        });
        expect(ack.status).toBe(200);
        const again = await fetch(`${s.url}/gaps/${gapId}/acknowledge`, {
          method: 'POST',
          headers: { origin: s.url, cookie: op.cookie, 'x-csrf-token': op.csrf, 'hx-request': 'true' },
        });
        expect(again.status).toBe(404);
        const after = await (await fetch(`${s.url}/`, { headers: { cookie: op.cookie } })).text();
        expect(after).not.toContain('data-gap-id=');
        expect((await request(s.app.http).get('/metrics')).text).toMatch(/^dim_stream_gaps_unacknowledged 0$/m);
        expect((await request(s.app.http).get('/api/stream')).body.gaps_unacknowledged).toBe(0);
      } finally {
        await s.stop();
      }
    } finally {
      await mock.stop();
    }
  }, 120_000);
});
