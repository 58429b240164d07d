/**
 * Moves judged after the fact: each executed move's predicted saving against what its dataset's
 * real accesses made of it, over the window the move was meant for (its horizon), cut short by
 * the dataset's next move. A move judged at a loss is "regretted".
 */
import type { CostModel, Usage } from './cost';
import { placementIndex, placementKey, type Placement } from './placements';

const DAY = 86_400_000;

/** One executed move as judged; money in US$ over the judged window. */
export interface MoveJudgement {
  decision_id: number;
  dataset_id: number;
  made_at: string;
  from: string;
  to: string;
  /** Days from the move to the end of its window (so far, while pending). */
  days: number;
  /** What ended the window: the dataset's next move, the horizon, or nothing yet (pending). */
  ended_by: 'next-move' | 'horizon' | 'pending';
  /** The decision's expected saving over the same days (its horizon's forecast pro rata) less the move's cost. */
  predicted_saving: number;
  /** Staying put minus moving, both priced with the accesses that came, the move, and early deletion if it moved on too soon. */
  realised_saving: number;
  regretted: boolean;
}

export interface HindsightSummary {
  /** Moves looked at (the latest, up to the limit). */
  moves: number;
  /** Moves whose window has ended; only these count in the share and the totals below. */
  judged: number;
  regretted: number;
  /** regretted ÷ judged; null before any move is judged. */
  regretted_share: number | null;
  predicted_saving: number;
  realised_saving: number;
  /** The latest moves, newest first. */
  latest: MoveJudgement[];
}

/** What the judgement needs of one logged move. */
export interface MoveToJudge {
  id: number;
  dataset_id: number;
  made_at: number;
  from: Placement;
  to: Placement;
  sizeBytes: number;
  /** Days the dataset had been at `from` when it moved (for the early deletion owed there). */
  daysHere: number;
  horizonDays: number;
  /** Per day over the horizon, as the decision priced them: holding at `from` and at `to`. */
  predictedFromPerDay: number;
  predictedToPerDay: number;
  /** The dataset's next move after this one, if any. */
  nextMoveAt: number | null;
}

/** A logged move as the judgement needs it: its row, its explanation, and its decision re-priced. */
export function loggedMove(
  x: {
    id: number;
    dataset_id: number;
    made_at: number;
    from_location: Placement['location'];
    from_tier: Placement['tier'];
    to_location: Placement['location'];
    to_tier: Placement['tier'];
    next_at: number | null;
  },
  e: { size_bytes: number; days_here: number; horizon_days: number },
  priced: { cost_now_month: number; cost_target_month: number },
): MoveToJudge {
  return {
    id: x.id,
    dataset_id: x.dataset_id,
    made_at: x.made_at,
    from: { location: x.from_location, tier: x.from_tier },
    to: { location: x.to_location, tier: x.to_tier },
    sizeBytes: e.size_bytes,
    daysHere: e.days_here,
    horizonDays: e.horizon_days,
    predictedFromPerDay: priced.cost_now_month / 30,
    predictedToPerDay: priced.cost_target_month / 30,
    nextMoveAt: x.next_at,
  };
}

/** The end of a move's window: its next move, its horizon, or `now`, whichever comes first. */
export function windowEnd(m: Pick<MoveToJudge, 'made_at' | 'horizonDays' | 'nextMoveAt'>, now: number): number {
  return Math.min(m.nextMoveAt ?? Infinity, m.made_at + m.horizonDays * DAY, now);
}

/** `used`: the dataset's accesses in [made_at, windowEnd(m, now)). */
export function judgeMove(cost: CostModel, m: MoveToJudge, used: Usage, now: number): MoveJudgement {
  const end = windowEnd(m, now);
  const days = Math.max(0, end - m.made_at) / DAY;
  const from = placementIndex(m.from);
  const to = placementIndex(m.to);
  const moveCost = cost.moveTotal(from, to, m.sizeBytes, m.daysHere);
  const endedBy: MoveJudgement['ended_by'] =
    m.nextMoveAt !== null && m.nextMoveAt <= end
      ? 'next-move'
      : end >= m.made_at + m.horizonDays * DAY
        ? 'horizon'
        : 'pending';
  // Moving on before the target's minimum duration leaves storage owed there: the price of being wrong.
  const owed = endedBy === 'next-move' ? cost.earlyDeletion(to, m.sizeBytes, days) : 0;
  const stay = cost.hold(from, m.sizeBytes, used, days);
  const moved = cost.hold(to, m.sizeBytes, used, days) + moveCost + owed;
  const realised = stay - moved;
  return {
    decision_id: m.id,
    dataset_id: m.dataset_id,
    made_at: new Date(m.made_at).toISOString(),
    from: placementKey(m.from),
    to: placementKey(m.to),
    days: round(days, 2),
    ended_by: endedBy,
    predicted_saving: round((m.predictedFromPerDay - m.predictedToPerDay) * days - moveCost, 4),
    realised_saving: round(realised, 4),
    regretted: endedBy !== 'pending' && realised < 0,
  };
}

export function summariseJudgements(all: readonly MoveJudgement[], latest = 20): HindsightSummary {
  const judged = all.filter((j) => j.ended_by !== 'pending');
  const regretted = judged.filter((j) => j.regretted).length;
  return {
    moves: all.length,
    judged: judged.length,
    regretted,
    regretted_share: judged.length === 0 ? null : round(regretted / judged.length, 4),
    predicted_saving: round(
      judged.reduce((s, j) => s + j.predicted_saving, 0),
      4,
    ),
    realised_saving: round(
      judged.reduce((s, j) => s + j.realised_saving, 0),
      4,
    ),
    latest: all.slice(0, latest),
  };
}

function round(v: number, d: number): number {
  const f = 10 ** d;
  return Math.round(v * f) / f;
}
