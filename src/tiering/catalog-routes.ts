import { Router } from 'express';
import { AppError, Fields, parseId } from '../platform';
import { PLACEMENTS, placementKey } from './placements';
import type { TieringRouteDeps } from './route-deps';

/** The price catalog and its versions. */
export function catalogRoutes(d: TieringRouteDeps): Router {
  const r = Router();
  const { tiering, requireWrite } = d;

  r.get('/api/catalog', (_req, res) => {
    const c = tiering.catalog;
    // Where an S3 store keeps a placement in a storage class, the class it is priced by (read only).
    const storage_classes = Object.fromEntries(
      PLACEMENTS.flatMap((p, i) => {
        const v = c.cost.classAt(i);
        return v ? [[placementKey(p), v]] : [];
      }),
    );
    res.json({ version: c.version, ...c.catalog, storage_classes });
  });

  /** A whole or partial catalog; validated, then stored as a new version unless no price changed (`changed`). */
  r.put('/api/catalog', requireWrite, async (req, res) => {
    const body = Fields.of(req.body, 'body');
    const note = body.optString('note', { max: 500 }) ?? null;
    const { note: _ignored, ...catalog } = req.body as Record<string, unknown>;
    void _ignored;
    const v = await tiering.updateCatalog(catalog, note);
    res.json({ version: v.version, changed: v.changed, ...v.catalog });
  });

  r.get('/api/catalog/versions', async (_req, res) => {
    res.json(await tiering.repo.catalogs.versions(1_000));
  });

  r.get('/api/catalog/versions/:version', async (req, res) => {
    const v = await tiering.repo.catalogs.version(parseId(req.params.version, 'version'));
    if (!v) throw AppError.notFound('price catalog version not found');
    res.json({ version: v.version, note: v.note, created_at: new Date(v.created_at).toISOString(), ...v.catalog });
  });

  return r;
}
