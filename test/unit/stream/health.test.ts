import { busHealth } from '../../../src/stream/health';

describe("a bus's readiness checks", () => {
  test('when connected and consuming, then both checks are ok', () => {
    expect(busHealth('kafka', { connected: true, consumerRunning: true })).toEqual({ bus: 'ok', consumer: 'ok' });
  });

  test('when not connected and no detail is known, then the bus says it is not connected and the consumer not running', () => {
    expect(busHealth('kafka', { connected: false, consumerRunning: false })).toEqual({
      bus: 'kafka bus not connected',
      consumer: 'consumer not running',
    });
  });

  test('when there is a detail, then each failing check gives it', () => {
    const s = { connected: false, consumerRunning: false, detail: 'Kafka unreachable: x' };
    expect(busHealth('kafka', s)).toEqual({ bus: 'Kafka unreachable: x', consumer: 'Kafka unreachable: x' });
    expect(busHealth('embedded', { ...s, connected: true })).toEqual({ bus: 'ok', consumer: 'Kafka unreachable: x' });
  });
});
