import Kafka from '@confluentinc/kafka-javascript';
import type { Watermarks } from './catch-up';

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

/** Every partition of `topic` with its watermarks; undefined when the cluster does not tell. */
export async function topicWatermarks(
  client: Kafka.Producer,
  topic: string,
  timeoutMs = 2_000,
): Promise<Map<number, Watermarks> | undefined> {
  const partitions = await new Promise<number[] | undefined>((resolve) => {
    client.getMetadata({ topic, timeout: timeoutMs }, (err, md) => {
      resolve(err ? undefined : (md.topics.find((t) => t.name === topic)?.partitions.map((p) => p.id) ?? []));
    });
  });
  if (!partitions) return undefined;
  const marks = await Promise.all(
    partitions.map(
      (p) =>
        new Promise<[number, Watermarks] | undefined>((resolve) => {
          client.queryWatermarkOffsets(topic, p, timeoutMs, (err, w) => {
            resolve(err ? undefined : [p, { low: w.lowOffset, high: w.highOffset }]);
          });
        }),
    ),
  );
  if (marks.some((m) => m === undefined)) return undefined;
  return new Map(marks.filter((m): m is [number, Watermarks] => m !== undefined));
}
