import { Router } from 'express';
import type { EventBus } from './types';

export function streamRoutes(bus: EventBus): Router {
  const r = Router();
  /** Where events go and how far behind the consumer is. */
  r.get('/api/stream', async (_req, res) => {
    const s = bus.status();
    let lag: number | undefined;
    try {
      lag = await bus.lag();
    } catch {
      lag = undefined;
    }
    res.json({
      kind: bus.kind,
      topic: bus.topic,
      connected: s.connected,
      consumer_running: s.consumerRunning,
      detail: s.detail ?? null,
      lag: lag ?? null,
    });
  });
  return r;
}
