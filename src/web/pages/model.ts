import { Router } from 'express';
import type { Clock } from '../../platform';
import { fleetLessons, type TieringService } from '../../tiering';
import type { Views } from '../views';
import type { PagesRepository } from './repository';

const DAY = 86_400_000;
export const QUALITY_DAYS = 60;
const MAX_ROWS = 100_000;

export interface QualityDay {
  day: string;
  count: number;
  model: number;
  seed_regression: number;
  seed_ewma: number;
}

/**
 * Forecast quality over time: matured forecasts grouped by the UTC day they matured on, each
 * day's mean |log(1+predicted) − log(1+actual)| for the model and the original demo's two
 * forecasts (the measure GET /api/model reports over the latest 10,000).
 */
export function qualityByDay(
  rows: { matured_at: number; predicted: number; seed_regression: number; seed_ewma: number; actual: number }[],
): QualityDay[] {
  const days = new Map<number, { n: number; m: number; r: number; e: number }>();
  const err = (p: number, a: number): number => Math.abs(Math.log1p(Math.max(0, p)) - Math.log1p(Math.max(0, a)));
  for (const o of rows) {
    const day = Math.floor(o.matured_at / DAY) * DAY;
    let agg = days.get(day);
    if (!agg) days.set(day, (agg = { n: 0, m: 0, r: 0, e: 0 }));
    agg.n++;
    agg.m += err(o.predicted, o.actual);
    agg.r += err(o.seed_regression, o.actual);
    agg.e += err(o.seed_ewma, o.actual);
  }
  const round = (v: number): number => Math.round(v * 10_000) / 10_000;
  return [...days.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([day, a]) => ({
      day: new Date(day).toISOString().slice(0, 10),
      count: a.n,
      model: round(a.m / a.n),
      seed_regression: round(a.r / a.n),
      seed_ewma: round(a.e / a.n),
    }));
}

export function modelPages(d: {
  views: Views;
  repo: PagesRepository;
  tiering: Pick<TieringService, 'quality' | 'hindsight' | 'settings' | 'predictor' | 'readSplit' | 'repo'>;
  clock: Clock;
}): Router {
  const r = Router();
  r.get('/model', async (_req, res) => {
    const since = Math.floor(d.clock.now() / DAY) * DAY - (QUALITY_DAYS - 1) * DAY;
    const [quality, rows, hindsight, fleet] = await Promise.all([
      d.tiering.quality(),
      d.repo.maturedSince(since, MAX_ROWS),
      d.tiering.hindsight(),
      fleetLessons(d.tiering),
    ]);
    const days = qualityByDay(rows);
    d.views.render(res, 'model', {
      quality,
      hindsight,
      fleet,
      days,
      qualityDays: QUALITY_DAYS,
      minUpdates: d.tiering.settings.minModelUpdates,
      chart: {
        labels: days.map((x) => x.day),
        datasets: [
          { label: 'Model', data: days.map((x) => x.model) },
          { label: 'Seed regression', data: days.map((x) => x.seed_regression) },
          { label: 'Seed EWMA', data: days.map((x) => x.seed_ewma) },
        ],
      },
      title: 'Model · Data in Motion',
    });
  });
  return r;
}
