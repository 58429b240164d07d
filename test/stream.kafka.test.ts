import net from 'node:net';
import request from 'supertest';
import { killMidStreamAndRestart } from './support/crash-scenario';
import { API_KEY, startApp, waitFor } from './support/harness';
import { kafkaEnv, startMockKafka } from './support/kafka-env';

const key = { 'x-api-key': API_KEY };

describe('the Kafka bus', () => {
  test('when the server is killed with SIGKILL mid-stream and restarted, then no acknowledged event is lost and retried events count once', async () => {
    const mock = await startMockKafka();
    try {
      const env = kafkaEnv(mock);
      // The restarted process joins under a new group id only because the mock cluster holds a
      // crashed member's partitions for ~2× the session timeout; what it must not re-apply is
      // decided by the offsets in SQLite, which are not tied to the group.
      await killMidStreamAndRestart(env, 'SIGKILL', { KAFKA_GROUP_ID: `${env.KAFKA_GROUP_ID}-after` });
    } finally {
      await mock.stop();
    }
  }, 120_000);

  test('when the server is killed and restarts in the same group while the dead member still holds its partitions, then it is not ready and lag is not 0 until every acknowledged event is applied', async () => {
    const mock = await startMockKafka();
    try {
      // The classic protocol, so the client's session timeout decides when the dead member's
      // partitions move (about 2× it on the mock cluster).
      const env = kafkaEnv(mock, {
        KAFKA_GROUP_PROTOCOL: 'classic',
        KAFKA_EXTRA_CONFIG: 'topic.metadata.refresh.interval.ms=500,session.timeout.ms=6000',
      });
      await killMidStreamAndRestart(env, 'SIGKILL');
    } finally {
      await mock.stop();
    }
  }, 120_000);

  test('when a new database joins a group that committed offsets already, then it reads the whole log: the database decides where to read', async () => {
    const mock = await startMockKafka();
    try {
      const env = kafkaEnv(mock);
      const first = await startApp(env);
      try {
        const http = first.app.http;
        const id = (await request(http).post('/api/datasets').set(key).send({ name: 'old' }).expect(201)).body
          .id as number;
        await request(http)
          .post('/api/events')
          .set(key)
          .send(Array.from({ length: 20 }, () => ({ dataset_id: id, type: 'read' })))
          .expect(202);
        await waitFor(
          async () => (await request(http).get('/api/stream')).body.lag === 0,
          'the first database to apply',
        );
      } finally {
        await first.stop();
      }
      const second = await startApp(env); // a fresh data directory, the same topic and group
      try {
        const http = second.app.http;
        await waitFor(
          async () => (await request(http).get('/api/stream')).body.lag === 0,
          'the new database to catch up',
        );
        // It has no such dataset: every event of the log reached it, as a dead letter.
        const dl = await request(http).get('/api/dead-letters').expect(200);
        expect(dl.headers['x-total-count']).toBe('20');
        await waitFor(async () => (await request(http).get('/readyz')).status === 200, 'readiness');
      } finally {
        await second.stop();
      }
    } finally {
      await mock.stop();
    }
  }, 60_000);

  test('when events are applied from Kafka on SQLite, then the applier commits without a sync of its own, as on the embedded log: the events are in Kafka before their 202', async () => {
    const mock = await startMockKafka();
    const s = await startApp(kafkaEnv(mock));
    try {
      const unsynced = jest.spyOn(s.app.database.unsynced, 'transaction');
      const http = s.app.http;
      const id = (await request(http).post('/api/datasets').set(key).send({ name: 'unsynced' }).expect(201)).body
        .id as number;
      await request(http)
        .post('/api/events')
        .set(key)
        .send(Array.from({ length: 10 }, () => ({ dataset_id: id, type: 'read' })))
        .expect(202);
      await waitFor(async () => (await request(http).get(`/api/datasets/${id}/stats`)).body.reads === 10, '10 reads');
      expect(s.app.database.unsynced).not.toBe(s.app.database.db);
      expect(unsynced).toHaveBeenCalled();
    } finally {
      await s.stop();
      await mock.stop();
    }
  }, 60_000);

  test('when the brokers go away, then ingest answers 503 with Retry-After, /readyz names Kafka, and nothing acknowledged is lost', async () => {
    const mock = await startMockKafka();
    const s = await startApp(kafkaEnv(mock, { KAFKA_DELIVERY_TIMEOUT_MS: '2000' }));
    try {
      const http = s.app.http;
      const id = (await request(http).post('/api/datasets').set(key).send({ name: 'outage' }).expect(201)).body
        .id as number;
      await request(http)
        .post('/api/events')
        .set(key)
        .send(Array.from({ length: 300 }, (_, i) => ({ id: `before-${i}`, dataset_id: id, type: 'read' })))
        .expect(202);
      await waitFor(async () => (await request(http).get(`/api/datasets/${id}/stats`)).body.reads === 300, '300 reads');

      await mock.stop();
      let acked = 300;
      const refused = await waitFor(
        async () => {
          const r = await request(http)
            .post('/api/events')
            .set(key)
            .send([{ id: `during-${Date.now()}`, dataset_id: id, type: 'read' }]);
          if (r.status === 202) acked++;
          return r.status === 503 ? r : undefined;
        },
        'a 503',
        30_000,
        100,
      );
      expect(refused.headers['retry-after']).toMatch(/^\d+$/);
      expect(refused.body.detail).toMatch(/Kafka|stream/i);
      const ready = await request(http).get('/readyz').expect(503);
      expect(ready.body.checks.bus).toMatch(/Kafka unreachable/);
      // Refused at once from now on, not after a timeout.
      const t = Date.now();
      await request(http).post('/api/stream/send').set(key).send({ dataset_id: id }).expect(503);
      expect(Date.now() - t).toBeLessThan(1_000);
      const stats = (await request(http).get(`/api/datasets/${id}/stats`)).body;
      expect(stats.reads).toBeGreaterThanOrEqual(300);
      expect(stats.reads).toBeLessThanOrEqual(acked);
    } finally {
      await s.stop();
    }
  }, 60_000);

  test('when the app starts with no broker reachable, then it runs, /readyz says why, and ingest answers 503', async () => {
    const s = await startApp({
      KAFKA_BOOTSTRAP: '127.0.0.1:1',
      KAFKA_TOPIC: 'nowhere',
      KAFKA_DELIVERY_TIMEOUT_MS: '1000',
      KAFKA_ADMIN_TIMEOUT_MS: '300',
    });
    try {
      const http = s.app.http;
      await request(http).get('/healthz').expect(200);
      const ready = await request(http).get('/readyz').expect(503);
      expect(ready.body.detail).toMatch(/bus: Kafka unreachable/);
      const id = (await request(http).post('/api/datasets').set(key).send({ name: 'no-broker' }).expect(201)).body
        .id as number;
      const r = await request(http).post('/api/events').set(key).send({ dataset_id: id, type: 'read' }).expect(503);
      expect(r.headers['retry-after']).toBeDefined();
    } finally {
      await s.stop();
    }
  }, 60_000);

  test('when the brokers become reachable after the app started, then it connects by itself and events flow', async () => {
    // A port nothing listens on yet; later a proxy there leads to a fresh mock cluster.
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as net.AddressInfo).port;
        probe.close(() => resolve(p));
      });
    });
    const s = await startApp({
      ...kafkaEnv({ bootstrap: `127.0.0.1:${port}`, stop: async () => undefined }),
      KAFKA_DELIVERY_TIMEOUT_MS: '1000',
    });
    const mock = await startMockKafka();
    const [host, mockPort] = mock.bootstrap.split(':');
    const proxy = net.createServer((client) => {
      const upstream = net.connect(Number(mockPort), host);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    try {
      const http = s.app.http;
      expect((await request(http).get('/readyz')).status).toBe(503);
      const id = (await request(http).post('/api/datasets').set(key).send({ name: 'late-broker' }).expect(201)).body
        .id as number;
      await request(http).post('/api/events').set(key).send({ dataset_id: id, type: 'read' }).expect(503);
      await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
      await waitFor(
        async () => (await request(http).get('/readyz')).status === 200,
        'readiness once the broker answers',
        30_000,
        100,
      );
      await request(http)
        .post('/api/events')
        .set(key)
        .send([
          { dataset_id: id, type: 'read' },
          { dataset_id: id, type: 'write' },
        ])
        .expect(202);
      await waitFor(
        async () => (await request(http).get(`/api/datasets/${id}/stats`)).body.access_count === 2,
        'the events to be applied',
        30_000,
      );
    } finally {
      await s.stop();
      proxy.close();
      await mock.stop();
    }
  }, 60_000);
});
