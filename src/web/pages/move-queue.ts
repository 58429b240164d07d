import { type MoveProgressView, type MoveService, moveProgress, restoreWait } from '../../storage';
import type { MoveWithName, PagesRepository, QueueTotals } from './repository';

export interface QueueModel {
  totals: QueueTotals;
  /** The first moves in the order they are worked on, with their progress. */
  head: (MoveWithName & { p: MoveProgressView; waiting: string | null })[];
  /** Moves not in `head`. */
  more: number;
  /** Bytes per second over the running copies (their own rates, summed); null when none reports one. */
  rate: number | null;
  /** The bytes left at that rate (null without a rate, or with nothing left). */
  eta_seconds: number | null;
}

/**
 * The move queue as the overview and the moves page show it: totals first (3,329 planned moves
 * read as one line, not as 20 rows of "0% of 0 B"), then the first `limit` moves.
 */
export async function queueModel(
  d: { repo: PagesRepository; moves: Pick<MoveService, 'progress'> },
  limit: number,
): Promise<QueueModel> {
  const [totals, active] = await Promise.all([d.repo.queueTotals(), d.repo.activeMoves(limit)]);
  const head = active.map((m) => ({ ...m, p: moveProgress(m, d.moves), waiting: restoreWait(m) }));
  const rates = head.map((m) => m.p.rate).filter((r): r is number => r !== null && r > 0);
  const rate = rates.length > 0 ? rates.reduce((a, b) => a + b, 0) : null;
  return {
    totals,
    head,
    more: Math.max(0, totals.queued + totals.running - head.length),
    rate,
    eta_seconds: rate !== null && totals.bytes_left > 0 ? totals.bytes_left / rate : null,
  };
}
