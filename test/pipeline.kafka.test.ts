import { kafkaEnv, startMockKafka, type MockKafka } from './support/kafka-env';
import { DATABASES } from './support/harness';
import { pipelineSuite } from './support/pipeline-suite';

describe('on librdkafka mock cluster', () => {
  let mock: MockKafka;
  beforeAll(async () => {
    mock = await startMockKafka();
  });
  afterAll(async () => {
    await mock?.stop();
  });
  for (const database of DATABASES) pipelineSuite('Kafka', () => kafkaEnv(mock), database);
});
