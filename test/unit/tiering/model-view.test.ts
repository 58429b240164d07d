import { AgeTrend } from '../../../src/tiering/cooling';
import { fleetLessons } from '../../../src/tiering/model-view';
import { READS_PER_ACCESS_PRIOR } from '../../../src/tiering/read-share';
import { ReadSplitEstimator, type ReadSplitTotals } from '../../../src/tiering/read-split';
import { RETURN_CLASS_EDGES, RETURN_IDLE_EDGES, ReturnCurve } from '../../../src/tiering/return-curve';

const BINS = RETURN_IDLE_EDGES.length;
const CELLS = RETURN_CLASS_EDGES.length * BINS;

/** A curve whose idle spells were all seen in one class: 2 returns per 100 dataset-days in every bin. */
function oneClassCurve(c: number): ReturnCurve {
  const exposure = new Array<number>(CELLS).fill(0);
  const returns = new Array<number>(CELLS).fill(0);
  for (let b = 0; b < BINS; b++) {
    exposure[c * BINS + b] = 1_000;
    returns[c * BINS + b] = 20;
  }
  return new ReturnCurve({ at: null, census: [], exposure, returns });
}

function splitTotals(datasets: number, reads: number, writes: number): ReadSplitTotals {
  const t = new ReadSplitEstimator();
  for (let i = 0; i < datasets; i++) t.add(reads, 0, writes);
  return t;
}

describe('what the fleet taught, as GET /api/model shows it', () => {
  test('when the fleet has taught the policy, then each lesson is the one the policy uses, with what it rests on', async () => {
    const trend = new AgeTrend();
    for (let i = 0; i < 2_000; i++) trend.add(20 + (i % 60), 10, 0.5);
    const curve = oneClassCurve(3);
    const totals = splitTotals(40, 45, 5);
    const lessons = await fleetLessons({
      predictor: { updates: 2_000, ageTrend: trend, returns: curve },
      readSplit: null,
      repo: { scan: { readSplitTotals: () => Promise.resolve(totals) } },
    });
    const prior = ReadSplitEstimator.prior(totals)!;
    expect(lessons.read_split).toMatchObject({
      share: Math.round(prior.share * 10_000) / 10_000,
      learnt: true,
      datasets: 40,
      accesses: 2_000,
      // No run yet: the live policy prices with the built-in prior.
      in_use: { share: READS_PER_ACCESS_PRIOR.share },
    });
    // Every bin's ratio is the trend's own at that age; cooling data of 15-62 days reads far less next month.
    expect(lessons.age_trend.matured_forecasts).toBe(2_000);
    for (const b of lessons.age_trend.bins) expect(b.ratio).toBeCloseTo(trend.ratio(b.age_from_days), 4);
    const month = lessons.age_trend.bins.find((b) => b.age_from_days === 31)!;
    expect(month.ratio).toBeLessThan(0.1);
    expect(month.last_month_accesses).toBeGreaterThan(0);
    expect(lessons.age_trend.bins.find((b) => b.age_from_days === 0)!.ratio).toBe(1);
    // With one class seen, the pooled chance of a return is that class's, as the policy walks it.
    const p = (idle: number, days: number): number =>
      Math.round((1 - Math.exp(-curve.expectedReturns(3, idle, days)!)) * 10_000) / 10_000;
    expect(lessons.return_curve).toMatchObject({
      dataset_days: BINS * 1_000,
      returns: BINS * 20,
      read_again: [
        { idle_days: 7, within_30: p(7, 30), within_90: p(7, 90), within_180: p(7, 180) },
        { idle_days: 30, within_30: p(30, 30), within_90: p(30, 90), within_180: p(30, 180) },
      ],
    });
    expect(lessons.return_curve.read_again[0]!.within_30).toBeGreaterThan(0.4);
  });

  test('when the fleet has seen too little, then the built-in prior stands and the return chances are unknown', async () => {
    const lessons = await fleetLessons({
      predictor: { updates: 0, ageTrend: new AgeTrend(), returns: new ReturnCurve() },
      readSplit: null,
      repo: { scan: { readSplitTotals: () => Promise.resolve(splitTotals(3, 10, 1)) } },
    });
    expect(lessons.read_split).toMatchObject({ learnt: false, share: READS_PER_ACCESS_PRIOR.share, accesses: 33 });
    expect(lessons.age_trend.bins.every((b) => b.ratio === 1 && b.last_month_accesses === 0)).toBe(true);
    expect(lessons.return_curve.read_again).toEqual([
      { idle_days: 7, within_30: null, within_90: null, within_180: null },
      { idle_days: 30, within_30: null, within_90: null, within_180: null },
    ]);
  });
});
