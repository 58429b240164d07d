import { fmt } from '../../../src/web/format';

describe('the pages’ formatting', () => {
  test('when sizes are shown, then binary units with sensible digits; nothing shows as a dash', () => {
    expect(fmt.bytes(0)).toBe('0 B');
    expect(fmt.bytes(1536)).toBe('1.50 KiB');
    expect(fmt.bytes(300 * 1024 ** 2)).toBe('300 MiB');
    expect(fmt.bytes(null)).toBe('—');
  });

  test('when money is shown, then cents from a dollar, four decimals below, a real minus sign', () => {
    expect(fmt.money(1234.5)).toBe('$1,234.50');
    expect(fmt.money(0.0123)).toBe('$0.0123');
    expect(fmt.money(-2)).toBe('−$2.00');
    expect(fmt.money(0)).toBe('$0.00');
  });

  test('when times are shown, then UTC, relative times round, and durations read naturally', () => {
    expect(fmt.time(Date.UTC(2026, 5, 1, 12, 0, 5))).toBe('2026-06-01 12:00:05 UTC');
    const now = Date.UTC(2026, 5, 1, 12);
    expect(fmt.ago(now - 30_000, now)).toBe('30 s ago');
    expect(fmt.ago(now - 3 * 3_600_000, now)).toBe('3 h ago');
    expect(fmt.ago(null, now)).toBe('never');
    expect(fmt.duration(75)).toBe('1 min 15 s');
    expect(fmt.duration(3 * 3600 + 600)).toBe('3 h 10 min');
  });
});
