import { Router } from 'express';
import { Query } from '../platform';
import type { DeadLettersRepository } from './dead-letters-repository';
import type { GapsRepository } from './gaps-repository';
import type { EventBus } from './types';

export interface StreamRouteDeps {
  bus: EventBus;
  deadLetters: DeadLettersRepository;
  gaps: Pick<GapsRepository, 'countUnacknowledged'>;
}

export function streamRoutes({ bus, deadLetters, gaps }: StreamRouteDeps): Router {
  const r = Router();
  /** Where events go, how far behind the consumer is, and how many lost stretches await an operator. */
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
      gaps_unacknowledged: await gaps.countUnacknowledged(),
    });
  });

  /** Messages that could not be applied, newest first; `X-Total-Count` says how many in all. */
  r.get('/api/dead-letters', async (req, res) => {
    const q = new Query(req.query);
    const limit = q.number('limit', 100, { min: 1, max: 1_000, integer: true });
    const offset = q.number('offset', 0, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true });
    const [rows, total] = await Promise.all([deadLetters.list(limit, offset), deadLetters.count()]);
    res.setHeader('X-Total-Count', String(total));
    res.json(rows.map((d) => ({ ...d, created_at: new Date(d.created_at).toISOString() })));
  });
  return r;
}
