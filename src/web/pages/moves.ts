import { Router, type RequestHandler } from 'express';
import type { MoveService } from '../../storage';
import { type Clock, parseId } from '../../platform';
import { LOCATIONS, TIERS } from '../../tiering';
import type { Views } from '../views';
import { queueModel } from './move-queue';
import type { FlowRow, PagesRepository } from './repository';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The Sankey and the timeline look back this far. */
export const MOVES_WINDOW_DAYS = 30;
/** The "Latest moves" table's length. */
const RECENT_MOVES = 50;

export interface MovesPageDeps {
  views: Views;
  repo: PagesRepository;
  moves: Pick<MoveService, 'cancel' | 'progress'>;
  clock: Clock;
  requireOperator: RequestHandler;
}

/**
 * Sankey data: sources on the left ("from ONPREM/HOT"), targets on the right ("to PUBLIC/COLD"),
 * distinct nodes so a placement that both sends and receives draws no cycle.
 */
export function sankeyModel(flows: FlowRow[]) {
  const bytes = flows.map((f) => ({
    from: `${f.from_location}/${f.from_tier} →`,
    to: `→ ${f.to_location}/${f.to_tier}`,
    flow: Number(f.bytes),
  }));
  const count = flows.map((f) => ({
    from: `${f.from_location}/${f.from_tier} →`,
    to: `→ ${f.to_location}/${f.to_tier}`,
    flow: Number(f.moves),
  }));
  return { bytes, count };
}

/** Moves per hour over the last two days by how they ended, from the newest 2,000 moves. */
export async function timelineModel(repo: PagesRepository, now: number) {
  const from = Math.floor(now / HOUR) * HOUR - 47 * HOUR;
  const rows = await repo.moves({ limit: 2_000 });
  const states = ['done', 'failed', 'cancelled'] as const;
  const labels: string[] = [];
  const series: Record<(typeof states)[number], number[]> = { done: [], failed: [], cancelled: [] };
  for (let t = from; t <= now; t += HOUR) {
    labels.push(new Date(t).toISOString().slice(5, 13).replace('T', ' ') + 'h');
    for (const s of states) series[s].push(0);
  }
  for (const m of rows) {
    const at = m.finished_at ?? m.created_at;
    const k = Math.floor((at - from) / HOUR);
    if (k < 0 || k >= labels.length) continue;
    if (m.state === 'done' || m.state === 'failed' || m.state === 'cancelled') series[m.state][k]!++;
  }
  return { labels, datasets: states.map((s) => ({ label: s, data: series[s] })) };
}

export function movesPages(d: MovesPageDeps): Router {
  const r = Router();

  const liveModel = async () => {
    const [queue, failed, counts] = await Promise.all([
      queueModel(d, 100),
      d.repo.moves({ states: ['failed'], limit: 20 }),
      d.repo.moveCounts(),
    ]);
    return { queue, inFlight: queue.head, failed, counts, now: d.clock.now() };
  };
  const flowsModel = async () => {
    const now = d.clock.now();
    const [flows, timeline] = await Promise.all([
      d.repo.flows(now - MOVES_WINDOW_DAYS * DAY),
      timelineModel(d.repo, now),
    ]);
    return { flows, sankey: sankeyModel(flows), timeline, windowDays: MOVES_WINDOW_DAYS };
  };

  r.get('/moves', async (_req, res) => {
    const [live, flows, recent] = await Promise.all([liveModel(), flowsModel(), d.repo.moves({ limit: RECENT_MOVES })]);
    d.views.render(res, 'moves', {
      live,
      fl: flows,
      recent,
      locations: LOCATIONS,
      tiers: TIERS,
      title: 'Moves · Data in Motion',
    });
  });

  r.get('/moves/parts/live', async (_req, res) => {
    d.views.render(res, 'parts/moves-live', { live: await liveModel() });
  });

  r.get('/moves/parts/recent', async (_req, res) => {
    d.views.render(res, 'parts/moves-recent', { recent: await d.repo.moves({ limit: RECENT_MOVES }) });
  });

  r.get('/moves/parts/flows', async (_req, res) => {
    d.views.render(res, 'parts/moves-flows', { fl: await flowsModel() });
  });

  /** Cancel: the same as DELETE /api/migrations/:id. */
  r.post('/moves/:id/cancel', d.requireOperator, async (req, res) => {
    const m = await d.moves.cancel(parseId(req.params.id));
    res.setHeader('HX-Trigger', 'moves-changed');
    d.views.render(res, 'parts/notice', { message: `Move ${m.id} is ${m.state}.` });
  });

  return r;
}
