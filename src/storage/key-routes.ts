import { Router } from 'express';
import { LOCATIONS } from '../db';
import { Fields, ValidationError } from '../platform';
import type { StorageRouteDeps } from './route-deps';

/** The keyring's status, rotation, and the rewrite of objects that do not carry their key yet. */
export function keyRoutes(
  d: Pick<StorageRouteDeps, 'keyring' | 'requireWrite' | 'headerRewrite' | 'masterRotation'>,
): Router {
  const r = Router();
  const { keyring, requireWrite } = d;

  // Objects still in format version 1 rewritten with their label (admin); answers when done.
  r.post('/api/keys/rewrite-headers', requireWrite, async (_req, res) => {
    res.json(await d.headerRewrite.run());
  });

  // After a start with a new master key (ENCRYPTION_KEY) and the old (ENCRYPTION_KEY_PREVIOUS):
  // joins or runs the re-wrap the start began in the background; answers when it is done.
  r.post('/api/keys/rotate-master', requireWrite, async (_req, res) => {
    const report = await d.masterRotation.run();
    res.json({ ...report, master_key: await keyring.masterStatus() });
  });

  r.get('/api/keys/master', async (_req, res) => {
    res.json(await keyring.masterStatus());
  });

  r.get('/api/keys', async (_req, res) => {
    res.json(await keyring.status());
  });

  r.post('/api/keys/rotate', requireWrite, async (req, res) => {
    const f = Fields.of(req.body ?? {}, 'body');
    f.only(['locations']);
    const given = f.optStringArray('locations', { maxItems: 3, maxLength: 10 });
    const locations = given?.map((l, i) => {
      const m = LOCATIONS.find((x) => x === l.toUpperCase());
      if (!m) throw new ValidationError(`locations[${i}]`, `must be one of ${LOCATIONS.join(', ')}`);
      return m;
    });
    res.json(await keyring.rotate(locations));
  });

  return r;
}
