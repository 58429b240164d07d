import { DEFAULT_CATALOG } from '../../../src/tiering/catalog';
import { CostModel } from '../../../src/tiering/cost';
import { AUTO, DEFAULT_POLICY, type DecisionInput } from '../../../src/tiering/decision';
import { N_FEATURES, type LargeReadCounts, type StatsSnapshot } from '../../../src/tiering/features';
import { TieringPolicy } from '../../../src/tiering/policy';
import { Predictor } from '../../../src/tiering/predictor';
import { timedLargeReads } from '../../../src/tiering/read-share';

const GB = 1024 ** 3;
const TB = 1024 * GB;
const H = 3_600_000;
const DAY = 24 * H;
const now = Date.UTC(2026, 0, 1);

/** Large reads at these times (days before now), one per burst, each of `bytes`. */
function largeAt(daysAgo: readonly number[], bytes: number): LargeReadCounts {
  const ts = daysAgo.map((d) => now - d * DAY).sort((a, b) => a - b);
  let gapSq = 0;
  for (let k = 1; k < ts.length; k++) gapSq += ((ts[k]! - ts[k - 1]!) / H) ** 2;
  return { reads: ts.length, bytes: ts.length * bytes, bursts: ts.length, first: ts[0]!, last: ts.at(-1)!, gapSq };
}

function snapshot(size: number, reads: number, bytesRead: number, large?: LargeReadCounts): StatsSnapshot {
  return {
    createdAt: now - 200 * DAY,
    sizeBytes: size,
    reads,
    writes: 1,
    scans: 0,
    bytesRead,
    decayAt: now - 2 * DAY,
    decay1h: 0,
    decay1d: 0,
    decay1w: 1,
    decay30d: 4,
    firstAccess: now - 120 * DAY,
    large,
  };
}

describe('a periodic reader of large parts is timed', () => {
  const size = 5 * TB;
  const weekly = (daysAgo: number): readonly number[] => [0, 7, 14, 21, 28, 35].map((d) => d + daysAgo);

  test('when a job read the dataset whole every week, then about four reads are due within 30 days', () => {
    const s = snapshot(size, 6, 6 * size, largeAt(weekly(2), size));
    expect(timedLargeReads(s, now, 30)).toBe(4);
    // Due in five days: a window of three days holds none, one of six days holds one.
    expect(timedLargeReads(s, now, 3)).toBe(0);
    expect(timedLargeReads(s, now, 6)).toBe(1);
  });

  test('when the weekly job has missed two weeks, then nothing is timed', () => {
    const s = snapshot(size, 6, 6 * size, largeAt(weekly(15), size));
    expect(timedLargeReads(s, now, 30)).toBe(0);
  });

  test('when large reads come at irregular gaps, then nothing is timed (the forecast averages them)', () => {
    const s = snapshot(size, 6, 6 * size, largeAt([1, 2, 10, 11.5, 30, 31], size));
    expect(timedLargeReads(s, now, 30)).toBe(0);
  });

  test('when a monthly reader is due within the horizon, then one read is timed however low its rate', () => {
    const s = snapshot(size, 4, 4 * size, largeAt([25, 55, 85, 115], size));
    expect(timedLargeReads(s, now, 30)).toBe(1);
  });
});

describe('a dataset read whole once a week is not demoted on a low forecast', () => {
  // A learnt model that forecasts nothing: the horizon repeats no rate.
  const weights = new Array<number>(N_FEATURES).fill(0);
  weights[0] = Math.log(0.5);
  const p = new Array<number>(N_FEATURES * N_FEATURES).fill(0);
  for (let i = 0; i < N_FEATURES; i++) p[i * N_FEATURES + i] = 1;
  const predictor = new Predictor(30, { horizon_days: 30, weights, p, updates: 10_000 });
  const policy = new TieringPolicy(new CostModel(DEFAULT_CATALOG), predictor, DEFAULT_POLICY, 0.13);
  const size = 5 * TB;
  const input = (stats: StatsSnapshot): DecisionInput => ({
    datasetId: 1,
    current: { location: 'PUBLIC', tier: 'HOT' },
    placedAt: now - 200 * DAY,
    lastMoveAt: null,
    sizeBytes: size,
    stats,
    policy: AUTO,
    moving: false,
  });
  const weeklyReads = largeAt([2, 9, 16, 23, 30, 37, 44, 51], size);

  test('when its weekly whole reads are counted, then it stays in HOT', () => {
    const d = policy.decide(input(snapshot(size, 8, 8 * size, weeklyReads)), now);
    expect(d.forecast.reads).toBeGreaterThanOrEqual(4);
    expect(d.forecast.read_bytes).toBeGreaterThanOrEqual(4 * size);
    expect(d.action).toBe('stay');
  });

  test('when the same dataset has no large reads counted (its reads were small parts), then it is demoted', () => {
    const d = policy.decide(input(snapshot(size, 8, 8 * 0.001 * size, largeAt([], size))), now);
    expect(d.action).toBe('move');
  });
});
