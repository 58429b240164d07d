import { accumulate } from '../../src/analytics/apply';
import { HALF_LIVES, decayTo, mergeDecayed, ratePerHour } from '../../src/analytics/decay';
import type { BusEvent } from '../../src/stream/types';

const H = 3_600_000;
const ev = (ts: number, extra: Partial<BusEvent> = {}): BusEvent => ({ v: 1, dataset_id: 1, type: 'read', bytes: 1, ts, scan: false, received_at: ts, ...extra });

describe('decayed access rates', () => {
  test('when a dataset sits idle for one half-life, then its decayed count halves without any write', () => {
    const s = { at: 0, value: 8 };
    expect(decayTo(s, H, HALF_LIVES['1h'])).toBeCloseTo(4);
    expect(decayTo(s, 3 * H, HALF_LIVES['1h'])).toBeCloseTo(1);
    expect(decayTo(s, 24 * H, HALF_LIVES['1d'])).toBeCloseTo(4);
    expect(decayTo(s, -H, HALF_LIVES['1h'])).toBe(8);
  });

  test('when batches arrive out of order, then the merged sum is the same', () => {
    const t = [0, 10 * 60_000, 2 * H, 2 * H + 1, 5 * H];
    const whole = accumulate(undefined, 1, t.map((x) => ev(x)));
    const late = accumulate(accumulate(undefined, 1, [ev(t[4]!), ev(t[2]!)]), 1, [ev(t[0]!), ev(t[1]!), ev(t[3]!)]);
    for (const k of ['decay_1h', 'decay_1d', 'decay_1w'] as const) expect(late[k]).toBeCloseTo(whole[k], 9);
    expect(late.decay_at).toBe(whole.decay_at);
    expect(whole).toMatchObject({ reads: 5, first_access: 0, last_access: 5 * H });
    const exact = t.reduce((s, x) => s + Math.pow(2, -(5 * H - x) / H), 0);
    expect(whole.decay_1h).toBeCloseTo(exact, 9);
  });

  test('when events are scans, then they are counted but never warm the dataset', () => {
    const warm = accumulate(undefined, 1, [ev(0)]);
    const after = accumulate(warm, 1, [ev(H, { scan: true }), ev(H, { scan: true, type: 'write', bytes: 100 })]);
    expect(after).toMatchObject({ reads: 2, writes: 1, scans: 2, bytes_written: 100, last_access: H });
    expect(after.decay_1h).toBe(warm.decay_1h);
    expect(after.decay_at).toBe(warm.decay_at);
  });

  test('when steady traffic runs for many half-lives, then the rate converges to the true rate', () => {
    // 60 events an hour for 10 hours
    let s = { at: 0, value: 0 };
    for (let i = 0; i < 600; i++) s = mergeDecayed(s, { at: i * 60_000, value: 1 }, HALF_LIVES['1h']);
    expect(ratePerHour(s.value, HALF_LIVES['1h'])).toBeGreaterThan(58);
    expect(ratePerHour(s.value, HALF_LIVES['1h'])).toBeLessThan(62);
  });
});
