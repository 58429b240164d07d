import { DEFAULT_CATALOG } from '../../../src/tiering/catalog';
import { CostModel } from '../../../src/tiering/cost';
import { AUTO, DEFAULT_POLICY, type DecisionInput } from '../../../src/tiering/decision';
import { N_FEATURES, type StatsSnapshot } from '../../../src/tiering/features';
import { TieringPolicy } from '../../../src/tiering/policy';
import { Predictor } from '../../../src/tiering/predictor';
import { decayedExposure, gammaQ, pQuietWeek, pRateAbove } from '../../../src/tiering/rate-risk';

const GB = 1024 ** 3;
const TB = 1024 * GB;
const DAY = 86_400_000;
const now = Date.UTC(2026, 0, 1);

describe('the gamma tail', () => {
  test('when the shape is 1 or 2, then Q is the exponential tail and its Poisson sum', () => {
    for (const x of [0.1, 1, 3, 12]) {
      expect(gammaQ(1, x)).toBeCloseTo(Math.exp(-x), 10);
      expect(gammaQ(2, x)).toBeCloseTo(Math.exp(-x) * (1 + x), 10);
    }
  });

  test('when the shape is large (series and continued fraction), then Q(a, x) is P(Poisson(x) < a)', () => {
    const poissonBelow = (a: number, x: number): number => {
      let term = Math.exp(-x);
      let sum = term;
      for (let k = 1; k < a; k++) sum += term *= x / k;
      return sum;
    };
    for (const [a, x] of [
      [10, 5],
      [10, 15],
      [30, 25],
      [30, 40],
    ] as const)
      expect(gammaQ(a, x)).toBeCloseTo(poissonBelow(a, x), 9);
    expect(gammaQ(3, 0)).toBe(1);
  });
});

describe("a dataset's own rate and its uncertainty", () => {
  test('when the same rate rests on more accesses, then the chance it is really twice as high falls', () => {
    // 2 accesses a horizon seen over one horizon, then over ten (20 accesses).
    const few = pRateAbove(2, 30, 4, 30);
    const many = pRateAbove(20, 300, 4, 30);
    expect(few).toBeGreaterThan(0.1);
    expect(many).toBeLessThan(0.01);
    expect(pRateAbove(2, 30, 40, 30)).toBeLessThan(1e-6);
  });

  test('when a decayed sum has counted far longer than its half-life, then its exposure is the mean lifetime', () => {
    expect(decayedExposure(1_000, 30)).toBeCloseTo(30 / Math.LN2, 6);
    expect(decayedExposure(0, 30)).toBe(0);
    expect(decayedExposure(30, 30)).toBeCloseTo(30 / Math.LN2 / 2, 6);
  });

  test('when a busy month is followed by a silent week, then the week is improbable at that pace', () => {
    expect(pQuietWeek(0, 9)).toBeLessThan(0.001);
    // Two reads a month: a week without one is the usual week.
    expect(pQuietWeek(0, 0.5)).toBeGreaterThan(0.5);
    expect(pQuietWeek(3, 0)).toBe(1);
  });
});

describe('a large dataset read a few times a month is not demoted on thin evidence', () => {
  // A learnt model that forecasts about half an access a month whatever the dataset did.
  const weights = new Array<number>(N_FEATURES).fill(0);
  weights[0] = Math.log(0.5);
  const p = new Array<number>(N_FEATURES * N_FEATURES).fill(0);
  for (let i = 0; i < N_FEATURES; i++) p[i * N_FEATURES + i] = 1;
  const predictor = new Predictor(30, { horizon_days: 30, weights, p, updates: 10_000 });
  const policy = new TieringPolicy(new CostModel(DEFAULT_CATALOG), predictor, DEFAULT_POLICY, 0.12);
  const size = 5 * TB;
  const stats = (decay30d: number, decay1w: number, reads: number): StatsSnapshot => ({
    createdAt: now - 60 * DAY,
    sizeBytes: size,
    reads,
    writes: 0,
    scans: 0,
    bytesRead: reads * 0.12 * size,
    decayAt: now - DAY,
    decay1h: 0,
    decay1d: 0,
    decay1w,
    decay30d,
    firstAccess: now - 58 * DAY,
  });
  const input = (s: StatsSnapshot): DecisionInput => ({
    datasetId: 1,
    current: { location: 'PUBLIC', tier: 'HOT' },
    placedAt: now - 60 * DAY,
    lastMoveAt: null,
    sizeBytes: size,
    stats: s,
    policy: AUTO,
    moving: false,
  });

  test('when its own count (a read a week) says use may be above the break-even, then the demotion is held', () => {
    const d = policy.decide(input(stats(6, 1.2, 8)), now);
    expect(d.to.tier).not.toBe('HOT');
    expect(d).toMatchObject({ action: 'held', rule: 'uncertain' });
  });

  test('when it was read once in two months, then the demotion goes ahead', () => {
    expect(policy.decide(input(stats(0.5, 0, 1)), now).action).toBe('move');
  });

  test('when a busy month ended in a silent week (its readers stopped), then the model decides and it is demoted', () => {
    expect(policy.decide(input(stats(40, 0.2, 60)), now).action).toBe('move');
  });
});
