export { EmbeddedBus } from './embedded-bus';
export { decodeEvent } from './event-codec';
export { APPLIED_OFFSETS, OffsetsRepository } from './offsets-repository';
export { streamRoutes } from './routes';
export {
  BusUnavailableError,
  EVENT_TYPES,
  type BatchHandler,
  type BusEvent,
  type BusMessage,
  type BusStatus,
  type EventBus,
  type EventPublisher,
  type EventType,
  type KafkaConfig,
} from './types';

// The Kafka client is native and loaded only when used: the embedded default never needs it.
import type { Logger } from '../platform';
import { type EventBus as Bus, type KafkaConfig as Config } from './types';
import type { OffsetsRepository as Offsets } from './offsets-repository';
import type { MockKafka } from './kafka-mock';
export type { MockKafka };

/** A bus on a Kafka cluster; loads the native client on first use. */
export async function createKafkaBus(config: Config, logger: Logger, offsets: Offsets): Promise<Bus> {
  const { KafkaBus } = await import('./kafka-bus');
  return new KafkaBus(config, logger, offsets);
}

/** librdkafka's in-process mock cluster (for the demo, benches and tests); loads the native client. */
export async function startMockKafka(): Promise<MockKafka> {
  const mock = await import('./kafka-mock');
  return mock.startMockKafka();
}
