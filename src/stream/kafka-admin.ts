import Kafka from '@confluentinc/kafka-javascript';
import type { Logger } from '../platform';
import { CODES, topicExists } from './kafka-client';
import type { KafkaConfig } from './types';

/**
 * Creates the topic with the configured partitions if it is missing. Some brokers (and
 * librdkafka's mock cluster) cannot create topics through the admin API but create them on
 * first use; that is logged and tolerated.
 */
export async function ensureTopic(
  producer: Kafka.Producer,
  config: KafkaConfig,
  logger: Logger,
  topicConfig?: Record<string, string>,
): Promise<void> {
  const { topic } = config;
  if (await topicExists(producer, topic, false)) return;
  const admin = Kafka.AdminClient.createFrom(producer);
  try {
    await new Promise<void>((resolve, reject) => {
      admin.createTopic(
        {
          topic,
          num_partitions: config.partitions,
          replication_factor: config.replicationFactor,
          ...(topicConfig ? { config: topicConfig } : {}),
        },
        config.adminTimeoutMs,
        (err) => (!err || err.code === CODES.ERR_TOPIC_ALREADY_EXISTS ? resolve() : reject(new Error(err.message))),
      );
    });
    logger.info('kafka.topic_created', { topic, partitions: config.partitions });
  } catch (err) {
    // A metadata request for the topic makes brokers that auto-create topics create it now:
    // the consumer must not subscribe to a topic that does not exist yet (with KIP-848 it would
    // wait for an assignment that never comes; with the classic protocol, for a rejoin).
    if (await topicExists(producer, topic, true))
      logger.info('kafka.topic_auto_created', { topic, admin_error: (err as Error).message });
    else logger.warn('kafka.topic_missing', { topic, error: (err as Error).message });
  } finally {
    admin.disconnect();
  }
}
