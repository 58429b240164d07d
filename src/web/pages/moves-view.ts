import type { MoveRow } from '../../db';
import type { MoveService } from '../../storage';

export interface MoveProgressView {
  done: number;
  total: number;
  /** 0..1 */
  fraction: number;
  rate: number | null;
  eta_seconds: number | null;
}

/**
 * A move's progress as the API's moveView computes it: live bytes from the running copy when
 * there is one, else what the journal holds. A catalog-only move has no bytes: it is 0 until done.
 */
export function moveProgress(m: MoveRow, moves: Pick<MoveService, 'progress'>): MoveProgressView {
  const live = moves.progress(m.id);
  const done = live?.bytesDone ?? (m.state === 'done' ? m.bytes_total : m.bytes_done);
  const rate = live?.rate ?? null;
  const remaining = m.bytes_total - done;
  return {
    done,
    total: m.bytes_total,
    fraction: m.bytes_total > 0 ? Math.min(1, done / m.bytes_total) : m.state === 'done' ? 1 : 0,
    rate,
    eta_seconds: rate && rate > 0 && remaining > 0 ? remaining / rate : null,
  };
}
