/** What the policy decides from and what it decides: settings, a dataset's own policy, the decision and its parts. */
import type { HoldCost, MoveCost, Usage } from './cost';
import type { FeatureView, StatsSnapshot } from './features';
import type { Placement } from './placements';

const DAY = 86_400_000;

/** How the scheduler weighs a move. */
export interface PolicySettings {
  /** The forecast and the costs look this far ahead. */
  horizonDays: number;
  /** A move must save (1 + hysteresis) × its own cost over the horizon. */
  hysteresis: number;
  /** A move must save at least this much per month. */
  minSavingPerMonth: number;
  /** No move for a dataset within this long of its last one. */
  cooldownMs: number;
  /** Placements slower to the first byte are ruled out, unless a dataset says otherwise (null: none). */
  defaultMaxLatencyMs: number | null;
  /** Per run: at most this many bytes and moves handed to the queue. */
  budgetBytes: number;
  budgetMoves: number;
  /**
   * Until the model has learnt from this many matured forecasts, only data idle for a whole
   * horizon is moved to cheaper storage (a demotion bets on the forecast; minimum durations and
   * retrieval fees make a wrong bet dear). Promotions and pins go ahead.
   */
  minModelUpdates: number;
  /** See decide(): the extra weight on the use of a placement whose access is dearer. */
  demotionRisk: number;
}

export const DEFAULT_POLICY: PolicySettings = {
  hysteresis: 2,
  minSavingPerMonth: 0.001,
  cooldownMs: DAY,
  defaultMaxLatencyMs: 1_000,
  budgetBytes: 10 * 1024 ** 4,
  budgetMoves: 10_000,
  minModelUpdates: 1_000,
  demotionRisk: 2,
  horizonDays: 30,
};

export type PolicyMode = 'auto' | 'pinned' | 'never-tier';

/** A dataset's own policy. */
export interface DatasetPolicy {
  mode: PolicyMode;
  /** With mode pinned: where it must stay. */
  pin: Placement | null;
  /** Rules out placements slower than this; null means the global default. */
  maxLatencyMs: number | null;
}

export const AUTO: DatasetPolicy = { mode: 'auto', pin: null, maxLatencyMs: null };

export interface DecisionInput {
  datasetId: number;
  current: Placement;
  /** When the dataset arrived at its current placement (creation or its last move). */
  placedAt: number;
  /** Its last move (null if it never moved): the cooldown counts from here. */
  lastMoveAt: number | null;
  sizeBytes: number;
  stats: StatsSnapshot;
  policy: DatasetPolicy;
  /** A move is already queued or running for it. */
  moving: boolean;
}

/** Why a better placement was not taken now. */
export type HoldRule =
  | 'pin'
  | 'never-tier'
  | 'in-flight'
  | 'cooldown'
  | 'learning'
  | 'short-history'
  | 'young'
  | 'unread'
  | 'uncertain'
  | 'periodic'
  | 'hysteresis'
  | 'min-saving'
  | 'budget';

/** One placement's price for the dataset over the horizon, for explanations. */
export interface Candidate {
  placement: Placement;
  /** Ruled out by latency or policy (the reason), or null when allowed. */
  excluded: string | null;
  hold: HoldCost;
  move: MoveCost;
  /** hold + move over the horizon. */
  total: number;
}

export interface Forecast {
  /** Non-scan accesses expected over the horizon, by the model. */
  accesses: number;
  reads: number;
  writes: number;
  scans: number;
  read_bytes: number;
}

export interface Decision {
  datasetId: number;
  action: 'stay' | 'move' | 'held';
  from: Placement;
  /** The allowed placement whose plan is cheapest (where a move would go; see plan-ahead.ts). */
  to: Placement;
  rule: HoldRule | null;
  horizonDays: number;
  forecast: Forecast;
  features: FeatureView;
  /** Monthly cost where it is, and at the target (storage + use, without the move). */
  costNowPerMonth: number;
  costTargetPerMonth: number;
  savingPerMonth: number;
  moveCost: number;
  /** Days for the saving to pay the move back (null when there is no saving). */
  breakEvenDays: number | null;
  /** A promotion (to a faster placement) of data in use goes before other moves. */
  promotion: boolean;
  /** What the costs were computed from, so the explanation can show every candidate. */
  usage: Usage;
  sizeBytes: number;
  daysHere: number;
  /** Bit i set: placement i was ruled out (see excludedReason). */
  excludedMask: number;
  maxLatencyMs: number | null;
  policyMode: PolicyMode;
  /** How the placements were weighed as plans (plan-ahead.ts); absent in explanations stored before plans were kept. */
  plan?: DecisionPlan;
}

/** What decide() priced each placement's plan with beyond the horizon's use, so an explanation can show the plan. */
export interface DecisionPlan {
  /** The days the plans look ahead (the horizon where no move commits beyond it). */
  days: number;
  /** The margin on dearer access, and the share of cheaper access recent use bears out (TieringPolicy.margins). */
  risk: number;
  promoShare: number;
  /** The use from the end of the horizon to `days` (laterUsage). */
  later: Usage;
  /**
   * Per placement, where its way on goes after the horizon (its own index: it stays), four bits a
   * placement in PLACEMENTS order (placement i at 16^i); read with wayOnOf (plan-ahead.ts).
   */
  next: number;
}
