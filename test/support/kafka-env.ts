import { startMockKafka, type MockKafka } from '../../src/stream/kafka-mock';

let n = 0;

/**
 * App settings for a fresh topic and group on librdkafka's mock cluster. The mock cannot create
 * topics through the admin API (it creates them on first use), so topic creation gives up fast
 * and metadata refreshes often enough to see the topic appear.
 */
export function kafkaEnv(mock: MockKafka, extra: Record<string, string> = {}): Record<string, string> {
  const tag = `${process.pid}-${Date.now()}-${++n}`;
  return {
    KAFKA_BOOTSTRAP: mock.bootstrap,
    KAFKA_TOPIC: `events-${tag}`,
    KAFKA_GROUP_ID: `group-${tag}`,
    KAFKA_ADMIN_TIMEOUT_MS: '300',
    KAFKA_DELIVERY_TIMEOUT_MS: '3000',
    KAFKA_EXTRA_CONFIG: 'topic.metadata.refresh.interval.ms=500',
    ...extra,
  };
}

export { startMockKafka, type MockKafka };
