import type { BusStatus, EventBus } from '../../stream';
import type { MoveService } from '../../storage';
import {
  type PlacementCost,
  type TieringService,
  LOCATIONS,
  TIERS,
  placementKey,
  type Location,
  type Tier,
} from '../../tiering';
import { RATE_WINDOW_MINUTES, type RateWindow } from '../rate-window';
import { queueModel, type QueueModel } from './move-queue';
import type { PagesRepository } from './repository';

/** The events chart covers this many minutes. */
export const EVENT_WINDOW_MINUTES = RATE_WINDOW_MINUTES;

export interface PlacementCell {
  location: Location;
  tier: Tier;
  key: string;
  datasets: number;
  bytes: number;
  cost_month: number;
  share: number;
}

export interface CostSummary {
  catalog_version: number;
  now_month: number;
  all_hot_month: number;
  /** Moves under way with a logged decision (the scheduler's, a recommendation's, or their own price). */
  pending_moves: number;
  /** What they save per month net of their cost: TieringService.pendingSaving, as the scheduler and the API give it. */
  pending_saving_month: number;
  /** Of those, the moves sent elsewhere than recommended: their count and their own net saving (in the figure above). */
  off_recommendation: { moves: number; saving_month: number };
  after_month: number;
}

export interface SummaryModel {
  grid: PlacementCell[][];
  totals: { datasets: number; bytes: number };
  cost: CostSummary;
}

/**
 * The 3×3 grid of bytes and datasets, and what storage costs per month now, all HOT and after
 * the moves under way (tiering prices the placements: the daily history takes the same figures).
 */
export async function summaryModel(d: { tiering: TieringService }): Promise<SummaryModel> {
  const [{ version, cells }, pending] = await Promise.all([d.tiering.costs.placements(), d.tiering.pendingSaving()]);
  const byKey = new Map<string, PlacementCost>(cells.map((t) => [placementKey(t), t]));
  let allBytes = 0;
  let allDatasets = 0;
  let nowMonth = 0;
  let hotMonth = 0;
  for (const t of cells) {
    allBytes += t.bytes;
    allDatasets += t.datasets;
    nowMonth += t.cost_month;
    hotMonth += t.all_hot_month;
  }
  const grid = LOCATIONS.map((location) =>
    TIERS.map((tier) => {
      const t = byKey.get(`${location}/${tier}`);
      return {
        location,
        tier,
        key: `${location}/${tier}`,
        datasets: t?.datasets ?? 0,
        bytes: t?.bytes ?? 0,
        cost_month: t?.cost_month ?? 0,
        share: allBytes > 0 ? (t?.bytes ?? 0) / allBytes : 0,
      };
    }),
  );
  return {
    grid,
    totals: { datasets: allDatasets, bytes: allBytes },
    cost: {
      catalog_version: version,
      now_month: nowMonth,
      all_hot_month: hotMonth,
      pending_moves: pending.moves,
      pending_saving_month: pending.saving_month,
      off_recommendation: pending.off_recommendation,
      after_month: Math.max(0, nowMonth - pending.gross_month),
    },
  };
}

export interface StreamModel {
  kind: string;
  topic: string;
  status: BusStatus;
  lag: number | null;
  total_accesses: number;
  /** Events applied per second, per slot of wall-clock time (UTC labels), the current (partial) slot last. */
  chart: { labels: string[]; values: number[] };
  current_rate: number;
  last_slot_rate: number;
}

/** Events applied per second over the last minutes of wall-clock time, and where the consumer is. */
export async function streamModel(d: {
  /** Every access ever counted (a short-lived memo of PagesRepository.totalAccesses). */
  total: () => Promise<number>;
  bus: EventBus;
  rate: Pick<RateWindow, 'series'>;
}): Promise<StreamModel> {
  const [total, lag] = await Promise.all([d.total(), d.bus.lag().catch(() => undefined)]);
  const { at, perSecond } = d.rate.series();
  return {
    kind: d.bus.kind,
    topic: d.bus.topic,
    status: d.bus.status(),
    lag: lag ?? null,
    total_accesses: total,
    chart: { labels: at.map((t) => new Date(t).toISOString().slice(11, 19)), values: perSecond },
    current_rate: perSecond[perSecond.length - 1] ?? 0,
    last_slot_rate: perSecond[perSecond.length - 2] ?? 0,
  };
}

export interface ActivityModel {
  queue: QueueModel;
  decisions: Awaited<ReturnType<PagesRepository['latestDecisions']>>;
}

/** The overview lists this many moves under the queue's totals. */
const QUEUE_HEAD = 10;

/** The move queue (totals and its first moves), and the latest decisions that became moves. */
export async function activityModel(d: {
  repo: PagesRepository;
  moves: Pick<MoveService, 'progress'>;
}): Promise<ActivityModel> {
  const [queue, decisions] = await Promise.all([queueModel(d, QUEUE_HEAD), d.repo.latestDecisions(8)]);
  return { queue, decisions };
}
