import { changed, Reservoir } from '../../../src/tiering/run-scan';
import type { Decision } from '../../../src/tiering/decision';
import type { CandidateRow } from '../../../src/tiering/repository';

const decision = (over: Partial<Decision> = {}): Decision =>
  ({
    action: 'held',
    rule: 'hysteresis',
    to: { location: 'PUBLIC', tier: 'COLD' },
    forecast: { accesses: 10, reads: 10, writes: 0, scans: 0, read_bytes: 0 },
    ...over,
  }) as Decision;

const stored = (over: Partial<CandidateRow> = {}): CandidateRow =>
  ({
    prev_action: 'held',
    prev_rule: 'hysteresis',
    prev_to: 'PUBLIC/COLD',
    prev_forecast: 10,
    ...over,
  }) as CandidateRow;

describe('changed: when a stored decision is rewritten', () => {
  test('when nothing is stored, then it is written', () => {
    expect(changed(decision(), stored({ prev_action: null }))).toBe(true);
  });

  test('when action, rule and target are the same and the forecast moved little, then it is not rewritten', () => {
    expect(
      changed(decision({ forecast: { accesses: 13, reads: 13, writes: 0, scans: 0, read_bytes: 0 } }), stored()),
    ).toBe(false);
  });

  test('when the forecast moved by more than a quarter and one access, then it is rewritten', () => {
    expect(
      changed(decision({ forecast: { accesses: 14, reads: 14, writes: 0, scans: 0, read_bytes: 0 } }), stored()),
    ).toBe(true);
  });

  test('when the rule or the target differs, then it is rewritten', () => {
    expect(changed(decision({ rule: 'cooldown' }), stored())).toBe(true);
    expect(changed(decision({ to: { location: 'PRIVATE', tier: 'COLD' } }), stored())).toBe(true);
  });
});

describe('Reservoir', () => {
  test('when more items than its size go by, then it keeps exactly its size, all from the stream', () => {
    const r = new Reservoir<number>(10);
    for (let i = 0; i < 1_000; i++) r.offer(i);
    expect(r.items).toHaveLength(10);
    expect(new Set(r.items).size).toBe(10);
    for (const x of r.items) expect(x).toBeLessThan(1_000);
  });

  test('when fewer items go by, then it keeps them all in order', () => {
    const r = new Reservoir<number>(10);
    for (let i = 0; i < 3; i++) r.offer(i);
    expect(r.items).toEqual([0, 1, 2]);
  });
});
