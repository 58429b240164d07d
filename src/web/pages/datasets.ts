import { Router, type RequestHandler } from 'express';
import { parseTagFilter } from '../../datasets';
import type { IngestService } from '../../ingest';
import { placementIndex, type TieringService } from '../../tiering';
import { LOCATIONS, TIERS } from '../../db';
import { ValidationError, Query } from '../../platform';
import type { Views } from '../views';
import { formBody, num, str } from './forms';
import type { DatasetPageFilter, DatasetPageSort, PagesRepository, PolicyModeFilter } from './repository';

export const PAGE_SIZES = [25, 50, 100] as const;
const SORTS: readonly DatasetPageSort[] = ['name', 'size', 'created', 'accesses', 'last_access'];
const MODES: readonly PolicyModeFilter[] = ['auto', 'pinned', 'never-tier'];

export interface DatasetsPageDeps {
  views: Views;
  repo: PagesRepository;
  ingest: Pick<IngestService, 'ingest'>;
  tiering: Pick<TieringService, 'catalog'>;
  requireOperator: RequestHandler;
}

const DAYS_PER_MONTH = 30;

/** Reads the table's state from the query string (the URL is shareable and survives reloads). */
export function parseFilter(query: Record<string, unknown>): DatasetPageFilter & { page: number } {
  const q = new Query(query);
  const limit = q.number('limit', 50, { min: 1, max: 100, integer: true });
  const page = q.number('page', 1, { min: 1, max: 1_000_000, integer: true });
  return {
    q: q.optString('q', 200),
    tag: parseTagFilter(query),
    tier: q.optEnum('tier', TIERS),
    location: q.optEnum('location', LOCATIONS),
    mode: q.optEnum('mode', MODES),
    sort: q.optEnum('sort', SORTS) ?? 'name',
    order: q.optEnum('order', ['asc', 'desc'] as const) ?? 'asc',
    limit,
    offset: (page - 1) * limit,
    page,
  };
}

/** The query string for this filter with some parts changed (links for sorting and paging). */
export function filterUrl(
  f: DatasetPageFilter & { page: number },
  change: Record<string, string | number | undefined>,
): string {
  const base: Record<string, string | number | undefined> = {
    q: f.q,
    tag: f.tag,
    tier: f.tier,
    location: f.location,
    mode: f.mode,
    sort: f.sort,
    order: f.order,
    limit: f.limit,
    page: f.page,
  };
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...base, ...change })) {
    if (v === undefined || v === '') continue;
    if (
      (k === 'sort' && v === 'name') ||
      (k === 'order' && v === 'asc') ||
      (k === 'limit' && v === 50) ||
      (k === 'page' && v === 1)
    )
      continue;
    p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `/datasets?${s}` : '/datasets';
}

export function datasetsPages(d: DatasetsPageDeps): Router {
  const r = Router();

  r.get('/datasets', async (req, res) => {
    const f = parseFilter(req.query);
    const { rows, total } = await d.repo.datasetPage(f);
    const any = total > 0 || f.q || f.tag || f.tier || f.location || f.mode ? true : (await d.repo.datasetCount()) > 0;
    const { cost } = d.tiering.catalog;
    const model = {
      f,
      // Storage per month where it is now, at the current catalog (the cost model applies minimum billable sizes).
      rows: rows.map((r) => ({
        ...r,
        tag_list: JSON.parse(r.tags) as string[],
        cost_month: cost.storage(placementIndex(r), r.size_bytes, DAYS_PER_MONTH),
      })),
      total,
      pages: Math.max(1, Math.ceil(total / f.limit)),
      url: (c: Record<string, string | number | undefined>) => filterUrl(f, c),
      empty: !any,
      title: 'Datasets · Data in Motion',
    };
    // HTMX asks for the table alone when a filter changes (not on a history restore: that wants the page).
    if (req.get('hx-request') && req.get('hx-target') === 'dataset-table' && !req.get('hx-history-restore-request'))
      d.views.render(res, 'parts/dataset-table', { ...model, fragment: true });
    else d.views.render(res, 'datasets', model);
  });

  /** Test events for a dataset, through the same ingest as POST /api/events. */
  r.post('/datasets/events', d.requireOperator, async (req, res) => {
    const b = formBody(req.body);
    const dataset = str(b, 'dataset') ?? fail('dataset', 'is required (a name or an id)');
    const count = num(b, 'count', 10, 1, 10_000, true);
    const type = str(b, 'type') ?? 'read';
    const bytes = num(b, 'bytes', 4096, 0, 1024 ** 4, true);
    const ref = /^\d+$/.test(dataset) ? { dataset_id: Number(dataset) } : { dataset };
    const events = Array.from({ length: count }, () => ({ ...ref, type, bytes }));
    const accepted = await d.ingest.ingest(events, false);
    d.views.render(res, 'parts/notice', {
      message: `Sent ${accepted} ${type} event${accepted === 1 ? '' : 's'} to ${dataset}.`,
    });
  });

  return r;
}

function fail(field: string, message: string): never {
  throw new ValidationError(field, message);
}
