import type { Health } from '../platform';
import type { BusStatus, EventBus } from './types';

/**
 * A bus's two readiness checks: the producer side takes events (`bus`), the consumer loop runs
 * (`consumer`). Each is `'ok'` or the reason, the status's detail first.
 */
export function busHealth(kind: EventBus['kind'], s: BusStatus): Health {
  return {
    bus: s.connected ? 'ok' : (s.detail ?? `${kind} bus not connected`),
    consumer: s.consumerRunning ? 'ok' : (s.detail ?? 'consumer not running'),
  };
}
