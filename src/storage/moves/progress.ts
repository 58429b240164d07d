import type { MoveRow } from '../../db';

/** A running move's live progress, updated as its copy lands. */
export interface LiveProgress {
  bytesDone: number;
  /** Wall-clock ms (`wallNow()`), never the product's clock. */
  startedAt: number;
  /** Bytes per second since the copy started. */
  rate: number;
}

/** A move's progress as the API and the pages show it. */
export interface MoveProgressView {
  done: number;
  total: number;
  /** 0..1 */
  fraction: number;
  rate: number | null;
  eta_seconds: number | null;
}

/**
 * A move's progress: live bytes from the running copy when there is one, else what the journal
 * holds. A catalog-only move has no bytes: it is 0 until done. Both the API and the pages call
 * this, so they never disagree.
 */
export function moveProgress(
  m: Pick<MoveRow, 'id' | 'state' | 'bytes_total' | 'bytes_done'>,
  moves: { progress(moveId: number): LiveProgress | undefined },
): MoveProgressView {
  const live = moves.progress(m.id);
  const done = live?.bytesDone ?? (m.state === 'done' ? m.bytes_total : m.bytes_done);
  const rate = live?.rate ?? null;
  const remaining = m.bytes_total - done;
  return {
    done,
    total: m.bytes_total,
    fraction: m.bytes_total > 0 ? Math.min(1, done / m.bytes_total) : m.state === 'done' ? 1 : 0,
    rate,
    eta_seconds: rate && rate > 0 && remaining > 0 ? remaining / rate : m.state === 'done' ? 0 : null,
  };
}

/**
 * Now for rates and times left, in ms: the wall clock, not the product's Clock. Bytes move in
 * real seconds even when the product's time is simulated (the demo plays a day in 1.5 s, where
 * a product-clock rate read "323 B/s, 221 h left" for a copy that took 70 s).
 */
export function wallNow(): number {
  return performance.now();
}

/** The average rate of `bytes` moved since `startedAt` (ms), at `now` (ms); 0 before any time has passed. */
export function rateSince(bytes: number, startedAt: number, now: number): number {
  const elapsed = (now - startedAt) / 1000;
  return elapsed > 0 ? bytes / elapsed : 0;
}
