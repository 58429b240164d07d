import Kafka from '@confluentinc/kafka-javascript';

export interface MockKafka {
  /** `127.0.0.1:PORT`: usable as bootstrap.servers by any client, in this process or another. */
  bootstrap: string;
  stop(): Promise<void>;
}

/**
 * librdkafka's own mock cluster, in this process: it speaks the real Kafka protocol, so the
 * product's Kafka path can run (in tests, benchmarks and demos) with no broker installed.
 * It lives as long as the client that created it.
 */
export function startMockKafka(brokers = 1): Promise<MockKafka> {
  const client = new Kafka.Producer({
    'bootstrap.servers': '',
    'test.mock.num.brokers': brokers,
    log_level: 0,
  } as Kafka.ProducerGlobalConfig);
  return new Promise((resolve, reject) => {
    client.connect({ timeout: 10_000 }, (err, metadata) => {
      if (err) return reject(new Error(`the mock Kafka cluster did not start: ${err.message}`));
      const b = metadata.brokers.map((x) => `${x.host}:${x.port}`).join(',');
      resolve({
        bootstrap: b,
        stop: () => new Promise<void>((r) => client.disconnect(() => r())),
      });
    });
  });
}
