import { RateWindow } from '../../../src/web/rate-window';

describe('RateWindow', () => {
  test('when events are added over time, then each slot reports its own rate per second, oldest first', () => {
    let now = 1_000_000;
    const w = new RateWindow(4, 1_000, () => now);
    w.add(10); // slot 1000
    now += 1_000;
    w.add(30); // slot 1001
    now += 500; // slot 1001 began at 1_001_000: half of it has passed
    w.add(5);
    const s = w.series();
    expect(s.at).toEqual([998_000, 999_000, 1_000_000, 1_001_000]);
    // The current slot's rate is over the half second that has passed.
    expect(s.perSecond).toEqual([0, 0, 10, 70]);
  });

  test('when the window wraps, then old slots are forgotten, not added to the new ones', () => {
    let now = 0;
    const w = new RateWindow(3, 1_000, () => now);
    w.add(100);
    now = 3_000; // same ring index as slot 0
    w.add(1);
    now = 3_999;
    const s = w.series();
    expect(s.perSecond.slice(0, 2)).toEqual([0, 0]);
    expect(s.perSecond[2]).toBeCloseTo(1 / 0.999, 2);
    now = 10_000;
    expect(w.series().perSecond).toEqual([0, 0, 0]);
  });

  test('when nothing or a non-positive count is added, then nothing is counted', () => {
    const w = new RateWindow(2, 1_000, () => 5_000);
    w.add(0);
    w.add(-3);
    w.add(Number.NaN);
    expect(w.series().perSecond).toEqual([0, 0]);
  });
});
