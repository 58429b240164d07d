/**
 * The one figure for "what the recommendations save": the moves still pending (queued or under
 * way) priced by the decisions that queued them, net of each move's own cost spread over the
 * forecast horizon. The overview, the scheduler's run record and GET /api/recommendations all
 * read it here, so they cannot disagree; held recommendations are not in it (they are not going
 * to happen until a run queues them).
 */
export interface PendingSaving {
  /** Pending moves that a decision queued (manual moves have no saving to count). */
  moves: number;
  /** Their saving per month before the moves' cost. */
  gross_month: number;
  /** The moves' own cost, once. */
  move_cost: number;
  /** gross_month − move_cost spread over the horizon, per month: what the overview calls "Saving". */
  saving_month: number;
}

const DAYS_PER_MONTH = 30;

export function netSaving(
  sums: { moves: number; gross_month: number; move_cost: number },
  horizonDays: number,
): PendingSaving {
  const spread = sums.move_cost * (DAYS_PER_MONTH / Math.max(1, horizonDays));
  return { ...sums, saving_month: sums.gross_month - spread };
}
