export { AppliedOnce, type AppliedBatch, type BatchEffect, type Rejection } from './applied-once';
export { DeadLettersRepository } from './dead-letters-repository';
export { EmbeddedBus } from './embedded-bus';
export { EventIdsRepository } from './event-ids-repository';
export { EventLogRepository } from './event-log-repository';
export { StreamGaps } from './gaps';
export { GapsRepository, type GapRow } from './gaps-repository';
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
import type { EventBus as Bus } from './types';
import type { KafkaBusDeps } from './kafka-bus';
import type { MockKafka } from './kafka-mock';
export type { KafkaBusDeps, MockKafka };

/** A bus on a Kafka cluster; loads the native client on first use. */
export async function createKafkaBus(deps: KafkaBusDeps): Promise<Bus> {
  const { KafkaBus } = await import('./kafka-bus');
  return new KafkaBus(deps);
}

/** librdkafka's in-process mock cluster (for the demo, benches and tests); loads the native client. */
export async function startMockKafka(): Promise<MockKafka> {
  const mock = await import('./kafka-mock');
  return mock.startMockKafka();
}
