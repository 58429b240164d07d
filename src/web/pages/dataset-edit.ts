import { Router, type RequestHandler } from 'express';
import type { DatasetsService } from '../../datasets';
import { parseId, ValidationError } from '../../platform';
import type { TieringService } from '../../tiering';
import type { Views } from '../views';
import { checked, formBody, str } from './forms';

export interface DatasetEditDeps {
  views: Views;
  datasets: Pick<DatasetsService, 'get' | 'update' | 'delete'>;
  tiering: Pick<TieringService, 'policyOf' | 'setPolicy'>;
  requireOperator: RequestHandler;
}

/**
 * Edit (name, tags, pinned) and delete from the datasets table, through the same services as
 * PATCH/DELETE /api/datasets/:id and the policy API. The table reloads on `datasets-changed`.
 */
export function datasetEditPages(d: DatasetEditDeps): Router {
  const r = Router();

  /** The edit form of one row, loaded when its "Edit" opens (fifty forms in every table page would double its size). */
  r.get('/datasets/:id/edit', d.requireOperator, async (req, res) => {
    const id = parseId(req.params.id);
    const [ds, policy] = await Promise.all([d.datasets.get(id), d.tiering.policyOf(id)]);
    d.views.render(res, 'parts/dataset-edit-form', {
      d: { id: ds.id, name: ds.name, tags: JSON.parse(ds.tags) as string[] },
      pinned: policy.mode === 'pinned',
    });
  });

  r.post('/datasets/:id/edit', d.requireOperator, async (req, res) => {
    const id = parseId(req.params.id);
    const b = formBody(req.body);
    const patch: Record<string, unknown> = {};
    const name = str(b, 'name');
    if (name !== undefined) patch.name = name;
    const tags = b.tags;
    if (tags !== undefined) {
      if (typeof tags !== 'string') throw new ValidationError('tags', 'must be given once');
      patch.tags = [
        ...new Set(
          tags
            .split(',')
            .map((t) => t.trim())
            .filter((t) => t !== ''),
        ),
      ];
    }
    const updated = await d.datasets.update(id, patch);
    // Pinned here means "stay where it is": a pin elsewhere is set on the dataset's own page.
    const policy = await d.tiering.policyOf(id);
    const pin = checked(b, 'pinned');
    let note = '';
    if (pin && policy.mode !== 'pinned') {
      await d.tiering.setPolicy(id, {
        mode: 'pinned',
        pin: { location: updated.location, tier: updated.tier },
        maxLatencyMs: policy.maxLatencyMs,
      });
      note = ` Pinned at ${updated.location}/${updated.tier}.`;
    } else if (!pin && policy.mode === 'pinned') {
      await d.tiering.setPolicy(id, { mode: 'auto', pin: null, maxLatencyMs: policy.maxLatencyMs });
      note = ' Unpinned: the scheduler decides again.';
    }
    res.setHeader('HX-Trigger', 'datasets-changed');
    d.views.render(res, 'parts/notice', { message: `Saved ${updated.name}.${note}` });
  });

  r.post('/datasets/:id/delete', d.requireOperator, async (req, res) => {
    const id = parseId(req.params.id);
    const current = await d.datasets.get(id);
    // The form carries the name the operator confirmed: a row renamed since it was shown is not deleted by mistake.
    if (str(formBody(req.body), 'confirm') !== current.name)
      throw new ValidationError('confirm', `must be the dataset's name ("${current.name}") to delete it`);
    await d.datasets.delete(id);
    res.setHeader('HX-Trigger', 'datasets-changed');
    d.views.render(res, 'parts/notice', { message: `Deleted ${current.name}.` });
  });

  return r;
}
