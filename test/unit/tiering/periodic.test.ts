import { DEFAULT_CATALOG } from '../../../src/tiering/catalog';
import { CostModel } from '../../../src/tiering/cost';
import type { StatsSnapshot } from '../../../src/tiering/features';
import { readWindows, waitsForWindow, windowHolds, type ReadWindow } from '../../../src/tiering/periodic';
import { placementIndex } from '../../../src/tiering/placements';
import { SimStats } from '../../../src/tiering/sim/stats';

const GB = 1024 ** 3;
const TB = 1024 * GB;
const DAY = 86_400_000;
const HOUR = 3_600_000;
const START = Date.UTC(2025, 0, 1);
const SIZE = 5.5 * TB;

/** A dataset's statistics after `reads` (timestamps), as the replay and the applier count them. */
function statsAfter(reads: readonly number[], until: number): StatsSnapshot {
  const sim = new SimStats(1, Float64Array.of(SIZE), Float64Array.of(START - DAY), START);
  for (const ts of [...reads].sort((a, b) => a - b)) {
    if (ts > until) break;
    sim.record(0, { ts, dataset: 'd', type: 'read', bytes: 0.1 * SIZE, scan: false });
  }
  return { ...sim.view.snapshot(0), phases: { ...sim.view.snapshot(0).phases! } };
}

/** `perDay` reads on each of the last two days of every month from January to May, and one mid-month read a month. */
function monthEndReads(perDay = 5): number[] {
  const out: number[] = [];
  for (let m = 0; m < 5; m++) {
    const last = Date.UTC(2025, m + 1, 0);
    for (let k = 0; k < perDay; k++) out.push(last - DAY + 10 * HOUR + k * HOUR, last + 9 * HOUR + k * HOUR);
    out.push(Date.UTC(2025, m, 12, 14));
  }
  return out;
}

const ON_JUNE_20 = Date.UTC(2025, 5, 20);

describe("a periodic reader's next window, from its read phases", () => {
  test('when a month-end reader is ten days from its window, then the window is found with its reads due', () => {
    const windows = readWindows(statsAfter(monthEndReads(), ON_JUNE_20), ON_JUNE_20, 30);
    const month = windows.find((w) => w.period === 'month');
    expect(month).toBeDefined();
    // The window (June 29-30) is taken to have passed a spread after its mean (the mid-month reads
    // widen it by a few days): 10-15 days ahead.
    expect(month!.days).toBeGreaterThan(9);
    expect(month!.days).toBeLessThan(15);
    // About ten of its eleven monthly reads are due in it.
    expect(month!.reads).toBeGreaterThan(8);
    expect(month!.reads).toBeLessThan(12);
  });

  test('when the window has passed, then the next one is most of a month ahead', () => {
    const june5 = Date.UTC(2025, 5, 5);
    const month = readWindows(statsAfter(monthEndReads(), june5), june5, 30).find((w) => w.period === 'month');
    expect(month!.days).toBeGreaterThan(25);
  });

  test('when reads fall at random times, then no window is found', () => {
    let x = 12345;
    const random = (): number => ((x = (x * 1103515245 + 12345) % 2 ** 31), x / 2 ** 31);
    const reads = Array.from({ length: 60 }, () => START + random() * 170 * DAY);
    expect(readWindows(statsAfter(reads, ON_JUNE_20), ON_JUNE_20, 30)).toEqual([]);
  });

  test('when the reads came in one stretch (data read hard in its first weeks), then it is no window', () => {
    // Forty reads from 10 to 20 January, then one a month: piled at one phase of the month and of two months.
    const reads = Array.from({ length: 40 }, (_, k) => Date.UTC(2025, 0, 10) + k * 6 * HOUR);
    for (let m = 1; m < 5; m++) reads.push(Date.UTC(2025, m, 3 + 5 * m));
    const stats = statsAfter(reads, ON_JUNE_20);
    const ph = stats.phases!;
    // Concentrated in the month on its own: only the two-month phases tell it apart.
    expect(Math.hypot(ph.monthCos, ph.monthSin) ** 2 / ph.reads).toBeGreaterThan(6.9);
    expect(readWindows(stats, ON_JUNE_20, 30)).toEqual([]);
  });

  test('when the reader stopped (nothing for more than a period), then no window is found', () => {
    const reads = monthEndReads().filter((t) => t < Date.UTC(2025, 3, 1));
    expect(readWindows(statsAfter(reads, ON_JUNE_20), ON_JUNE_20, 30)).toEqual([]);
  });

  test('when fewer than eight reads were counted, then no window is found', () => {
    const reads = monthEndReads()
      .filter((t, k) => k % 3 === 0)
      .slice(0, 7);
    expect(readWindows(statsAfter(reads, ON_JUNE_20), ON_JUNE_20, 30)).toEqual([]);
  });

  test('when a weekly reader reads every Monday, then its window is found within the week', () => {
    const mondays: number[] = [];
    for (let t = Date.UTC(2025, 0, 6, 9); t < ON_JUNE_20; t += 7 * DAY) mondays.push(t, t + HOUR);
    const week = readWindows(statsAfter(mondays, ON_JUNE_20), ON_JUNE_20, 30).find((w) => w.period === 'week');
    // 20 June 2025 is a Friday: the next Monday's reads are three days away.
    expect(week!.days).toBeGreaterThan(2.5);
    expect(week!.days).toBeLessThan(4);
    expect(week!.reads).toBeCloseTo(2, 0);
  });
});

describe('a demotion timed against a window', () => {
  const window: ReadWindow = { period: 'month', reads: 10, days: 10 };

  test("when the window's reads would cost more there than the storage saved until it passes, then the demotion waits", () => {
    // 10 reads at 5 more each = 50, against 120 a month saved × 10/30 = 40.
    expect(windowHolds([window], 120, 5, 30)).toBe(true);
  });

  test('when the storage saved until it passes is worth more, then the demotion goes ahead', () => {
    expect(windowHolds([window], 180, 5, 30)).toBe(false);
    expect(windowHolds([], 120, 5, 30)).toBe(false);
  });

  test('when a 5.5 TB month-end dataset would go HOT → WARM ten days before its window, then it waits; after it, it goes', () => {
    const cost = new CostModel(DEFAULT_CATALOG);
    const demotion = {
      cost,
      cur: placementIndex({ location: 'PUBLIC', tier: 'HOT' }),
      to: placementIndex({ location: 'PUBLIC', tier: 'WARM' }),
      size: SIZE,
      horizonDays: 30,
      readShare: 0.15,
    };
    // Seven reads a month, below the break-even (about 8 at these prices): the demotion pays over a
    // month, but not over the two weeks before a window that brings six of them.
    const reads = monthEndReads(3);
    expect(waitsForWindow({ ...demotion, stats: statsAfter(reads, ON_JUNE_20), now: ON_JUNE_20 })).toBe(true);
    const june5 = Date.UTC(2025, 5, 5);
    expect(waitsForWindow({ ...demotion, stats: statsAfter(reads, june5), now: june5 })).toBe(false);
  });
});
