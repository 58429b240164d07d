import { aggregate } from '../../../src/analytics/aggregate';
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

  test("when a batch's events are aggregated, then its phases equal those added one at a time, scans and writes left out", () => {
    const ts = [Date.UTC(2025, 0, 30, 10), Date.UTC(2025, 0, 31, 9), Date.UTC(2025, 1, 3, 14)];
    const events = [
      ...ts.map((t) => ({
        v: 1 as const,
        dataset_id: 1,
        type: 'read' as const,
        bytes: 10,
        ts: t,
        received_at: t,
        scan: false,
      })),
      { v: 1 as const, dataset_id: 1, type: 'write' as const, bytes: 10, ts: ts[0]!, received_at: ts[0]!, scan: false },
      { v: 1 as const, dataset_id: 1, type: 'read' as const, bytes: 10, ts: ts[1]!, received_at: ts[1]!, scan: true },
    ];
    const row = aggregate(1, events, 1_000);
    const one = noReadPhases();
    for (const t of ts) addReadPhase(one, t, false);
    for (const [k, v] of Object.entries(one)) expect(row[k as keyof typeof one]).toBeCloseTo(v, 12);
  });
});
