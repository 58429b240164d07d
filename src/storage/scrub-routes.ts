import { Router } from 'express';
import { Query } from '../platform';
import type { StorageRouteDeps } from './route-deps';

/** The scrub: its last report, and a run on demand (`?wait=true` answers with the finished report). */
export function scrubRoutes(d: Pick<StorageRouteDeps, 'scrub' | 'requireWrite'>): Router {
  const r = Router();
  const { scrub, requireWrite } = d;

  r.get('/api/scrub', async (_req, res) => {
    res.json(await scrub.view());
  });

  r.post('/api/scrub', requireWrite, async (req, res) => {
    const wait = new Query(req.query).optEnum('wait', ['true', 'false']) === 'true';
    await scrub.mayRun();
    const running = scrub.run('api');
    if (wait) {
      await running;
      res.json(await scrub.view());
      return;
    }
    running.catch(() => undefined); // logged by the scrub; the report says it failed
    res.status(202).json(await scrub.view());
  });

  return r;
}
