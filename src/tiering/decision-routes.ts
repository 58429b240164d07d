import { Router } from 'express';
import { AppError, parseId, Query } from '../platform';
import type { TieringRouteDeps } from './route-deps';

/** Recommendations and decisions: stored, fresh, and the log of those carried out. */
export function decisionRoutes(d: TieringRouteDeps): Router {
  const r = Router();
  const { tiering } = d;

  /**
   * The original demo's list: every dataset with its recommendation (a stay is one too), plus
   * where, why and how sure. Moves and held moves first, largest saving first.
   */
  r.get('/api/recommendations', async (req, res) => {
    const q = new Query(req.query);
    const limit = q.number('limit', 200, { min: 1, max: 1_000, integer: true });
    const offset = q.number('offset', 0, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true });
    const [{ rows, total }, pending] = await Promise.all([
      tiering.recommendations(limit, offset),
      tiering.pendingSaving(),
    ]);
    res.setHeader('X-Total-Count', String(total));
    // The list stays a plain array (as the original demo's); the total of what is under way rides along.
    res.setHeader('X-Pending-Moves', String(pending.moves));
    res.setHeader('X-Pending-Saving-Month', String(pending.saving_month));
    res.json(
      rows.map(({ name, size_gb, stored, decision: x }) => ({
        id: x.dataset_id,
        name,
        size_gb,
        current_tier: x.from_tier,
        current_location: x.from_location,
        // The seed's score: here the expected accesses per day over the horizon.
        score: Math.round((x.forecast_accesses / tiering.settings.horizonDays) * 1000) / 1000,
        recommended_tier: x.to_tier,
        recommended_location: x.to_location,
        estimated_monthly_saving_usd: Math.round(x.saving_month * 10_000) / 10_000,
        move_cost_usd: Math.round(x.move_cost * 10_000) / 10_000,
        break_even_days: x.break_even_days === null ? null : Math.round(x.break_even_days * 10) / 10,
        forecast_accesses: Math.round(x.forecast_accesses * 1000) / 1000,
        action: x.action,
        held_by: x.rule,
        stored,
        decided_at: new Date(x.made_at).toISOString(),
        decision: `/api/datasets/${x.dataset_id}/decision`,
      })),
    );
  });

  /** What the moves under way save per month, net of their cost: the figure the overview shows as "Saving". */
  r.get('/api/recommendations/summary', async (_req, res) => {
    const p = await tiering.pendingSaving();
    res.json({
      pending_moves: p.moves,
      gross_saving_month_usd: p.gross_month,
      move_cost_usd: p.move_cost,
      pending_saving_month_usd: p.saving_month,
      // Moves sent elsewhere than recommended, priced on their own (in the figures above too).
      off_recommendation: { moves: p.off_recommendation.moves, saving_month_usd: p.off_recommendation.saving_month },
      horizon_days: tiering.settings.horizonDays,
    });
  });

  /** The stored decision with its explanation; ?fresh=true decides again now (nothing stored or moved). */
  r.get('/api/datasets/:id/decision', async (req, res) => {
    const id = parseId(req.params.id);
    await d.datasetExists(id);
    const fresh = new Query(req.query).optEnum('fresh', ['true', 'false'] as const) === 'true';
    const stored = fresh ? undefined : await tiering.repo.decisions.get(id);
    if (stored) return void res.json({ stored: true, ...(await tiering.explain(stored)) });
    const now = tiering.now();
    const decision = await tiering.decideNow(id);
    res.json({ stored: false, ...(await tiering.explain(tiering.toRow(decision, 0, now))) });
  });

  r.get('/api/decisions', async (req, res) => {
    const q = new Query(req.query);
    const rows = await tiering.repo.decisions.latestLogged(
      q.number('limit', 50, { min: 1, max: 1_000, integer: true }),
    );
    res.json(await Promise.all(rows.map(async ({ name, ...x }) => ({ name, ...(await tiering.explainLogged(x)) }))));
  });

  r.get('/api/decisions/:id', async (req, res) => {
    const x = await tiering.repo.decisions.logged(parseId(req.params.id));
    if (!x) throw AppError.notFound('decision not found');
    res.json(await tiering.explainLogged(x));
  });

  return r;
}
