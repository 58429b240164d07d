import Kafka from '@confluentinc/kafka-javascript';

/** What librdkafka reports as an error: the code may be missing (or -1) and the text is the only clue. */
export type LibrdKafkaError = { code?: number; message?: string };

export const CODES = Kafka.CODES.ERRORS;

export function connectClient(client: Kafka.Producer | Kafka.KafkaConsumer, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    client.connect({ timeout: timeoutMs }, (err) => (err ? reject(new Error(err.message)) : resolve()));
  });
}

/** Whether the cluster's metadata (for `topic` alone, or for all) lists the topic with partitions. */
export function topicExists(producer: Kafka.Producer, topic: string, askForIt: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    producer.getMetadata({ ...(askForIt ? { topic } : {}), timeout: 5_000 }, (err, md) => {
      resolve(!err && md.topics.some((t) => t.name === topic && t.partitions.length > 0));
    });
  });
}
