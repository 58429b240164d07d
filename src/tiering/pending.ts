/**
 * The one figure for "what the moves under way save": every pending move (queued or under way)
 * priced by the decision it carries out, net of its own cost spread over the forecast horizon.
 * A scheduler run's moves carry that run's decisions; a move queued by hand carries the
 * dataset's stored recommendation when it goes there, or its own price otherwise
 * (move-pricing.ts). The overview, the scheduler's run record and GET /api/recommendations all
 * read it here, so they cannot disagree; held recommendations are not in it (they are not going
 * to happen until a run or an operator queues them).
 */
export interface PendingSaving {
  /** Pending moves with a logged decision (every move queued since moves were priced). */
  moves: number;
  /** Their saving per month before the moves' cost. */
  gross_month: number;
  /** The moves' own cost, once. */
  move_cost: number;
  /** gross_month − move_cost spread over the horizon, per month: what the overview calls "Saving". */
  saving_month: number;
  /** Of those, the moves an operator sent elsewhere than recommended (in the figure above too; may be negative). */
  off_recommendation: { moves: number; saving_month: number };
}

/** The logged rule of a move an operator sent elsewhere than its recommendation. */
export const OFF_RECOMMENDATION = 'manual';

const DAYS_PER_MONTH = 30;

type Sums = { moves: number; gross_month: number; move_cost: number };

export function netSaving(sums: Sums & { off?: Sums }, horizonDays: number): PendingSaving {
  const spread = DAYS_PER_MONTH / Math.max(1, horizonDays);
  const off = sums.off ?? { moves: 0, gross_month: 0, move_cost: 0 };
  return {
    moves: sums.moves,
    gross_month: sums.gross_month,
    move_cost: sums.move_cost,
    saving_month: sums.gross_month - sums.move_cost * spread,
    off_recommendation: { moves: off.moves, saving_month: off.gross_month - off.move_cost * spread },
  };
}
