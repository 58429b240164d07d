import { Router, type RequestHandler } from 'express';
import { parseTagFilter } from '../../datasets';
import { LOCATIONS, TIERS } from '../../db';
import { type MoveService } from '../../storage';
import { type TieringService, ruleText } from '../../tiering';
import { parseId, Query, ValidationError } from '../../platform';
import type { Views } from '../views';
import { formBody, str } from './forms';
import type { RecommendationFilter } from './recommendations-repository';
import type { PagesRepository } from './repository';

const ACTIONS = ['pending', 'move', 'held', 'all'] as const;
/** A bulk action takes at most this many datasets per request (largest saving first); the page says how many are left. */
export const BULK_MOVE_CAP = 5_000;
export const BULK_PIN_CAP = 1_000;

export interface RecommendationsPageDeps {
  views: Views;
  repo: PagesRepository;
  tiering: Pick<TieringService, 'policyOf' | 'setPolicy' | 'pendingSaving'>;
  moves: Pick<MoveService, 'enqueue' | 'enqueueBatch'>;
  requireOperator: RequestHandler;
}

type Filter = RecommendationFilter & { page: number };

/** The filter from a query string or a form (the bulk form posts the filter it was shown with). */
export function parseRecommendationFilter(query: Record<string, unknown>): Filter {
  const q = new Query(query);
  const limit = q.number('limit', 50, { min: 1, max: 200, integer: true });
  const page = q.number('page', 1, { min: 1, max: 1_000_000, integer: true });
  return {
    tag: parseTagFilter(query),
    location: q.optEnum('location', LOCATIONS),
    tier: q.optEnum('tier', TIERS),
    action: q.optEnum('action', ACTIONS) ?? 'pending',
    limit,
    offset: (page - 1) * limit,
    page,
  };
}

export function recommendationsUrl(f: Filter, change: Record<string, string | number | undefined> = {}): string {
  const all: Record<string, string | number | undefined> = {
    tag: f.tag,
    location: f.location,
    tier: f.tier,
    action: f.action === 'pending' ? undefined : f.action,
    limit: f.limit === 50 ? undefined : f.limit,
    page: f.page === 1 ? undefined : f.page,
    ...change,
  };
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(all))
    if (v !== undefined && v !== '' && !(k === 'page' && v === 1)) p.set(k, String(v));
  const s = p.toString();
  return s ? `/recommendations?${s}` : '/recommendations';
}

/**
 * The original dashboard's recommendations: every stored decision (where, saving, break-even and
 * the rule that holds it), Move and Pin per row, and the same over a whole filter at once.
 */
export function recommendationsPages(d: RecommendationsPageDeps): Router {
  const r = Router();

  r.get('/recommendations', async (req, res) => {
    const f = parseRecommendationFilter(req.query);
    const [{ rows, total }, pending] = await Promise.all([d.repo.recommendations.page(f), d.tiering.pendingSaving()]);
    const model = {
      f,
      rows: rows.map((x) => ({ ...x, why: ruleText(x.action, x.rule) })),
      total,
      pending,
      pages: Math.max(1, Math.ceil(total / f.limit)),
      url: (c: Record<string, string | number | undefined>) => recommendationsUrl(f, c),
      caps: { move: BULK_MOVE_CAP, pin: BULK_PIN_CAP },
      title: 'Recommendations · Data in Motion',
    };
    if (req.get('hx-request') && req.get('hx-target') === 'rec-table' && !req.get('hx-history-restore-request'))
      d.views.render(res, 'parts/recommendations-table', model);
    else d.views.render(res, 'recommendations', model);
  });

  /** Move: carry out this dataset's recommendation now (the same queue as a manual move). */
  r.post('/recommendations/:id/move', d.requireOperator, async (req, res) => {
    const id = parseId(req.params.id);
    const x = await d.repo.recommendations.page({ action: 'all', limit: 1, offset: 0, datasetId: id });
    const rec = x.rows.find((row) => row.dataset_id === id);
    if (!rec || (rec.to_location === rec.from_location && rec.to_tier === rec.from_tier))
      throw new ValidationError('id', 'has no recommendation to move elsewhere');
    const m = await d.moves.enqueue(id, {
      location: rec.to_location,
      tier: rec.to_tier,
      reason: 'manual',
      detail: 'from the recommendations page',
    });
    res.setHeader('HX-Trigger', 'recommendations-changed');
    d.views.render(res, 'parts/notice', {
      message: `Move ${m.id} of ${rec.name} to ${rec.to_location}/${rec.to_tier} queued.`,
    });
  });

  /** Pin: keep the dataset where it is (the recommendation is declined until unpinned). */
  r.post('/recommendations/:id/pin', d.requireOperator, async (req, res) => {
    const id = parseId(req.params.id);
    const x = await d.repo.recommendations.page({ action: 'all', limit: 1, offset: 0, datasetId: id });
    const rec = x.rows.find((row) => row.dataset_id === id);
    if (!rec) throw new ValidationError('id', 'has no stored recommendation');
    await pinHere(d, id, rec.from_location, rec.from_tier);
    res.setHeader('HX-Trigger', 'recommendations-changed');
    d.views.render(res, 'parts/notice', { message: `${rec.name} pinned at ${rec.from_location}/${rec.from_tier}.` });
  });

  /** Move all / pin all over the filter the page showed. */
  r.post('/recommendations/bulk', d.requireOperator, async (req, res) => {
    const b = formBody(req.body);
    const action = str(b, 'bulk');
    if (action !== 'move' && action !== 'pin') throw new ValidationError('bulk', 'must be move or pin');
    const f = parseRecommendationFilter(b);
    const cap = action === 'move' ? BULK_MOVE_CAP : BULK_PIN_CAP;
    const { rows, total } = await d.repo.recommendations.targets(f, cap);
    let done = 0;
    if (action === 'move') {
      const created = await d.moves.enqueueBatch(
        rows.map((x) => ({
          dataset_id: x.dataset_id,
          from_location: x.from_location,
          from_tier: x.from_tier,
          to_location: x.to_location,
          to_tier: x.to_tier,
          reason: 'manual',
          reason_detail: 'bulk, from the recommendations page',
          decision_id: null,
        })),
      );
      done = created.size;
    } else {
      for (const x of rows) {
        await pinHere(d, x.dataset_id, x.from_location, x.from_tier);
        done++;
      }
    }
    const left = total - rows.length;
    res.setHeader('HX-Trigger', 'recommendations-changed');
    d.views.render(res, 'parts/notice', {
      message: `${action === 'move' ? 'Queued' : 'Pinned'} ${done} dataset${done === 1 ? '' : 's'}${
        left > 0 ? `; ${left} more match (at most ${cap} at a time): run it again` : ''
      }. Pinned and never-tier datasets, and those already moving, are left alone.`,
    });
  });

  return r;
}

async function pinHere(
  d: Pick<RecommendationsPageDeps, 'tiering'>,
  id: number,
  location: (typeof LOCATIONS)[number],
  tier: (typeof TIERS)[number],
): Promise<void> {
  const p = await d.tiering.policyOf(id);
  await d.tiering.setPolicy(id, { mode: 'pinned', pin: { location, tier }, maxLatencyMs: p.maxLatencyMs });
}
