import { kafkaEnv, startMockKafka, type MockKafka } from './support/kafka-env';
import { pipelineSuite } from './support/pipeline-suite';

describe('on librdkafka mock cluster', () => {
  let mock: MockKafka;
  beforeAll(async () => {
    mock = await startMockKafka();
  });
  afterAll(async () => {
    await mock?.stop();
  });
  pipelineSuite('Kafka', () => kafkaEnv(mock));
});
