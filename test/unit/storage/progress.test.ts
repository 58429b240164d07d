import type { MoveRow } from '../../../src/db';
import { type LiveProgress, moveProgress, rateSince } from '../../../src/storage/moves/progress';

type Row = Pick<MoveRow, 'id' | 'state' | 'bytes_total' | 'bytes_done'>;
const row = (r: Partial<Row>): Row => ({ id: 1, state: 'copying', bytes_total: 1_000, bytes_done: 0, ...r });
const live = (p: LiveProgress | undefined) => ({ progress: () => p });

describe('moveProgress', () => {
  test('when a copy is running, then its live bytes and rate give the fraction and the time left', () => {
    const p = moveProgress(row({ bytes_done: 100 }), live({ bytesDone: 400, startedAt: 0, rate: 200 }));
    expect(p).toEqual({ done: 400, total: 1_000, fraction: 0.4, rate: 200, eta_seconds: 3 });
  });

  test('when no copy is running, then the journal says how far it got and nothing is promised', () => {
    const p = moveProgress(row({ state: 'planned', bytes_done: 250 }), live(undefined));
    expect(p).toEqual({ done: 250, total: 1_000, fraction: 0.25, rate: null, eta_seconds: null });
  });

  test('when a move is done, then it is whole: all its bytes, fraction 1, nothing left', () => {
    const p = moveProgress(row({ state: 'done', bytes_done: 10 }), live(undefined));
    expect(p).toEqual({ done: 1_000, total: 1_000, fraction: 1, rate: null, eta_seconds: 0 });
  });

  test('when a move is catalog-only, then it is 0 until done and 1 after', () => {
    expect(moveProgress(row({ bytes_total: 0 }), live(undefined)).fraction).toBe(0);
    expect(moveProgress(row({ bytes_total: 0, state: 'done' }), live(undefined)).fraction).toBe(1);
  });

  test('when the live count overshoots the total, then the fraction stays at 1', () => {
    const p = moveProgress(row({}), live({ bytesDone: 1_200, startedAt: 0, rate: 10 }));
    expect(p.fraction).toBe(1);
    expect(p.eta_seconds).toBeNull();
  });

  test('when the rate is still 0, then no time left is given', () => {
    expect(moveProgress(row({}), live({ bytesDone: 0, startedAt: 0, rate: 0 })).eta_seconds).toBeNull();
  });
});

describe('rateSince', () => {
  test('when time has passed, then the rate is bytes per second', () => {
    expect(rateSince(5_000, 1_000, 3_000)).toBe(2_500);
  });
  test('when no time has passed, then the rate is 0, not infinite', () => {
    expect(rateSince(5_000, 1_000, 1_000)).toBe(0);
  });
});
