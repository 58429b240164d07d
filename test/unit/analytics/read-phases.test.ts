import { bucketDeltas, latePhases, minutePhases } from '../../../src/analytics/aggregate';
import {
  addReadPhase,
  monthPhase,
  noReadPhases,
  twoMonthPhase,
  twoWeekPhase,
  weekPhase,
} from '../../../src/analytics/read-phases';

const DAY = 86_400_000;
const TAU = 2 * Math.PI;

describe('read phases', () => {
  test("when a read falls on a month's first instant or its middle, then its phase is 0 or π", () => {
    expect(monthPhase(Date.UTC(2025, 1, 1))).toBe(0);
    expect(monthPhase(Date.UTC(2025, 1, 15))).toBeCloseTo(Math.PI, 12); // February: 28 days
    expect(monthPhase(Date.UTC(2025, 2, 1) - 1)).toBeCloseTo(TAU, 6);
  });

  test('when a read falls in the second month of a pair, then its two-month phase is in the second half', () => {
    expect(twoMonthPhase(Date.UTC(2025, 0, 16, 12))).toBeCloseTo(Math.PI / 2, 12);
    expect(twoMonthPhase(Date.UTC(2025, 1, 15))).toBeCloseTo((3 * Math.PI) / 2, 12);
  });

  test('when reads fall a week apart, then their week phase is the same and their fortnight phases opposite', () => {
    const t = Date.UTC(2025, 5, 2, 9);
    expect(weekPhase(t + 7 * DAY)).toBeCloseTo(weekPhase(t), 9);
    expect(Math.cos(twoWeekPhase(t + 7 * DAY) - twoWeekPhase(t))).toBeCloseTo(-1, 9);
  });

  test('when a scan is added, then nothing is counted', () => {
    const p = noReadPhases();
    addReadPhase(p, Date.UTC(2025, 0, 31), true);
    expect(p).toEqual(noReadPhases());
  });

  test('when month-end reads come every month, then the month sums add up and the two-month sums cancel', () => {
    const p = noReadPhases();
    for (let m = 0; m < 6; m++) addReadPhase(p, Date.UTC(2025, m + 1, 0, 12), false);
    expect(p.phase_reads).toBe(6);
    expect(Math.hypot(p.phase_month_cos, p.phase_month_sin)).toBeGreaterThan(5.9);
    expect(Math.hypot(p.phase_month2_cos, p.phase_month2_sin)).toBeLessThan(0.5);
  });

  test("when a batch's events fill minute buckets, then their phases equal those added one at a time, scans and writes left out", () => {
    const ts = [
      Date.UTC(2025, 0, 30, 10),
      Date.UTC(2025, 0, 31, 9),
      Date.UTC(2025, 0, 31, 9, 0, 40),
      Date.UTC(2025, 1, 3, 14),
    ];
    const event = (t: number, type: 'read' | 'write', scan: boolean) => ({
      v: 1 as const,
      dataset_id: 1,
      type,
      bytes: 10,
      ts: t,
      received_at: t,
      scan,
    });
    const events = [
      ...ts.map((t) => event(t, 'read', false)),
      event(ts[0]!, 'write', false),
      event(ts[1]!, 'read', true),
      event(ts[1]!, 'write', true),
    ];
    const minutes = bucketDeltas(events, { claimed: 0, rolled: 0 }).filter((b) => b.res === 'm');
    expect(minutes.map((b) => b.user_reads)).toEqual([1, 2, 1]); // two reads share 09:00; the scan is not one
    const [rolled] = minutePhases(minutes.map((b) => ({ ...b, user_reads: b.user_reads ?? 0 })));
    const one = noReadPhases();
    for (const t of ts) addReadPhase(one, t, false);
    expect(rolled!.dataset_id).toBe(1);
    for (const [k, v] of Object.entries(one)) expect(rolled![k as keyof typeof one]).toBeCloseTo(v, 12);
  });

  test("when a read falls inside a minute, then it is placed at the minute's start, as the roll-up places it", () => {
    const a = noReadPhases();
    const b = noReadPhases();
    addReadPhase(a, Date.UTC(2025, 3, 7, 8, 15, 59, 999), false);
    addReadPhase(b, Date.UTC(2025, 3, 7, 8, 15), false);
    expect(a).toEqual(b);
  });

  test('when reads whose minute the roll-up has passed arrive, then only they are placed by the applier', () => {
    const rolledUntil = Date.UTC(2025, 3, 7, 8, 16);
    const mk = (t: number, scan = false) => ({
      v: 1 as const,
      dataset_id: 2,
      type: 'read' as const,
      bytes: 1,
      ts: t,
      received_at: rolledUntil,
      scan,
    });
    const late = latePhases(
      [mk(Date.UTC(2025, 3, 7, 8, 15, 30)), mk(Date.UTC(2025, 3, 7, 8, 15, 31), true), mk(rolledUntil)],
      rolledUntil,
    );
    expect(late.map((d) => [d.dataset_id, d.phase_reads])).toEqual([[2, 1]]);
  });
});
