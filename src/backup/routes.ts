import { type RequestHandler, Router } from 'express';
import { Fields } from '../platform';
import type { DatabaseBackups } from './service';

/** `POST /api/backups {file?}`: a consistent copy of the database now (admin scope); GET: where, when next, the last. */
export function backupRoutes(d: { backups: DatabaseBackups; requireWrite: RequestHandler }): Router {
  const r = Router();
  r.get('/api/backups', (_req, res) => {
    res.json(d.backups.view());
  });
  r.post('/api/backups', d.requireWrite, async (req, res) => {
    const f = Fields.of(req.body ?? {}, 'body');
    f.only(['file']);
    const file = f.optString('file', { min: 1, max: 200 });
    res.status(201).json(await d.backups.backup(file ?? undefined));
  });
  return r;
}
