import { aggregate } from '../../../src/analytics/aggregate';
import { HALF_LIVES, decayTo, mergeDecayed, ratePerHour } from '../../../src/analytics/decay';
import type { BusEvent } from '../../../src/stream/types';

const H = 3_600_000;
const ev = (ts: number, extra: Partial<BusEvent> = {}): BusEvent => ({
  v: 1,
  dataset_id: 1,
  type: 'read',
  bytes: 1,
  ts,
  scan: false,
  received_at: ts,
  ...extra,
});

describe('decayed access rates', () => {
  test('when a dataset sits idle for one half-life, then its decayed count halves without any write', () => {
    const s = { at: 0, value: 8 };
    expect(decayTo(s, H, HALF_LIVES['1h'])).toBeCloseTo(4);
    expect(decayTo(s, 3 * H, HALF_LIVES['1h'])).toBeCloseTo(1);
    expect(decayTo(s, 24 * H, HALF_LIVES['1d'])).toBeCloseTo(4);
    expect(decayTo(s, -H, HALF_LIVES['1h'])).toBe(8);
  });

  test('when a batch is aggregated, then its sums are referenced at its latest non-scan event', () => {
    const a = aggregate(7, [ev(0), ev(H), ev(2 * H, { type: 'write', bytes: 5 }), ev(3 * H, { scan: true })], 100);
    expect(a).toMatchObject({
      dataset_id: 7,
      reads: 3,
      writes: 1,
      scans: 1,
      bytes_read: 3,
      bytes_written: 5,
      first_access: 0,
      last_access: 3 * H,
      decay_at: 2 * H,
    });
    expect(a.decay_1h).toBeCloseTo(1 + 0.5 + 0.25, 12);
  });

  test('when a batch holds only scans, then it carries no warmth', () => {
    const a = aggregate(1, [ev(H, { scan: true }), ev(2 * H, { scan: true, type: 'write' })], 100);
    expect(a).toMatchObject({ reads: 1, writes: 1, scans: 2, decay_at: 0, decay_1h: 0, decay_1d: 0, decay_1w: 0 });
  });

  test('when steady traffic runs for many half-lives, then the rate converges to the true rate', () => {
    // 60 events an hour for 10 hours
    let s = { at: 0, value: 0 };
    for (let i = 0; i < 600; i++) s = mergeDecayed(s, { at: i * 60_000, value: 1 }, HALF_LIVES['1h']);
    expect(ratePerHour(s.value, HALF_LIVES['1h'])).toBeGreaterThan(58);
    expect(ratePerHour(s.value, HALF_LIVES['1h'])).toBeLessThan(62);
  });
});
