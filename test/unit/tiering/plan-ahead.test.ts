import { DEFAULT_CATALOG } from '../../../src/tiering/catalog';
import { AgeTrend, laterUsage, useAhead } from '../../../src/tiering/cooling';
import { CostModel } from '../../../src/tiering/cost';
import { AUTO, DEFAULT_POLICY, type DecisionInput, type Forecast } from '../../../src/tiering/decision';
import { planDays, waysOn } from '../../../src/tiering/plan-ahead';
import { placementIndex } from '../../../src/tiering/placements';
import { TieringPolicy } from '../../../src/tiering/policy';
import { Predictor } from '../../../src/tiering/predictor';

const GB = 1024 ** 3;
const TB = 1024 * GB;
const DAY = 86_400_000;
const now = Date.UTC(2026, 0, 1);
const cost = new CostModel(DEFAULT_CATALOG);
const HOT = placementIndex({ location: 'PUBLIC', tier: 'HOT' });
const WARM = placementIndex({ location: 'PUBLIC', tier: 'WARM' });
const COLD = placementIndex({ location: 'PUBLIC', tier: 'COLD' });
const PUBLIC = (1 << HOT) | (1 << WARM) | (1 << COLD);

/** A fleet whose data of 20-80 days reads a twentieth of its last month in the next. */
function coolingFleet(trend: AgeTrend): AgeTrend {
  for (let i = 0; i < 2_000; i++) trend.add(20 + (i % 60), 10, 0.5);
  return trend;
}

describe("the fleet's use by age (AgeTrend)", () => {
  test('when nothing has matured yet, then the ratio is 1 and a plan repeats the forecast', () => {
    const t = new AgeTrend();
    expect(t.ratio(30)).toBe(1);
    expect(useAhead(t, 30, 30, 90, 30)).toBeCloseTo(2, 12);
    expect(useAhead(t, 30, 0, 45, 30)).toBeCloseTo(1.5, 12);
  });

  test('when data of an age reads a twentieth of its last month, then that age learns about a twentieth', () => {
    const t = coolingFleet(new AgeTrend());
    expect(t.ratio(40)).toBeGreaterThan(0.04);
    expect(t.ratio(40)).toBeLessThan(0.07);
    // Other ages keep the prior: nothing was seen there.
    expect(t.ratio(2)).toBe(1);
    // The month after the horizon at age 30 is the forecast times the ratio at 60.
    expect(useAhead(t, 30, 30, 60, 30)).toBeCloseTo(t.ratio(60), 12);
  });

  test('when use grows with age, then the ratio stays at 1: a plan never bets on growth', () => {
    const t = new AgeTrend();
    for (let i = 0; i < 500; i++) t.add(10, 1, 20);
    expect(t.ratio(10)).toBe(1);
  });

  test("when the model's state is saved and loaded, then the trend comes back with it", () => {
    const p = new Predictor();
    coolingFleet(p.ageTrend);
    const again = new Predictor(p.horizonDays, p.state());
    expect(again.ageTrend.ratio(40)).toBeCloseTo(p.ageTrend.ratio(40), 12);
    expect(again.ageTrend.ratio(40)).toBeLessThan(0.1);
  });

  test('when a matured observation trains the model, then the trend learns from the same features', () => {
    const p = new Predictor();
    const x = new Float64Array(8);
    x[0] = 1;
    x[4] = Math.log1p(10); // ten accesses the month before
    x[7] = Math.log1p(40); // 40 days old
    for (let i = 0; i < 2_000; i++) p.update(x, 0.5);
    expect(p.ageTrend.ratio(40)).toBeLessThan(0.1);
  });

  test('when the later use is priced, then scans are repeated and only the forecast cools', () => {
    const t = coolingFleet(new AgeTrend());
    const f: Forecast = { accesses: 10, reads: 8, writes: 2, scans: 30, read_bytes: 8 * GB + 30 * TB };
    const usage = { reads: 38, readBytes: 8 * GB + 30 * TB, writes: 2, writeBytes: 0 };
    const out = { reads: 0, readBytes: 0, writes: 0, writeBytes: 0 };
    laterUsage(t, { usage, f, size: TB, age: 40, H: 30, L: 30, days: 90 }, out);
    const cools = useAhead(t, 40, 30, 90, 30);
    expect(out.reads).toBeCloseTo(8 * cools + 60, 9);
    expect(out.readBytes).toBeCloseTo(8 * GB * cools + 60 * TB, 0);
    expect(out.writes).toBeCloseTo(2 * cools, 12);
  });
});

describe('each placement weighed as a plan (waysOn)', () => {
  test('when a move to COLD is allowed, then the plan looks as far as its 90-day minimum', () => {
    expect(planDays(cost, PUBLIC, 30)).toBe(90);
    expect(planDays(cost, 1 << HOT, 30)).toBe(30);
  });

  test('when little use is left, then the way on from WARM pays its retrieval to reach COLD and from HOT it does not', () => {
    const hold = new Float64Array(9);
    const out = new Float64Array(9);
    const later = { reads: 0.1, readBytes: 0.01 * TB, writes: 0, writeBytes: 0 };
    waysOn(
      { cost, size: TB, later, laterDays: 60, horizonDays: 30, cur: HOT, daysHere: 40, allowed: PUBLIC, risk: 2 },
      hold,
      out,
    );
    const coldLater = hold[COLD]!;
    expect(coldLater).toBeLessThan(hold[WARM]!);
    // HOT → COLD costs a copy's requests only; WARM → COLD its retrieval of the whole size (0.01/GB).
    expect(out[HOT]! - coldLater).toBeLessThan(1);
    expect(out[WARM]! - coldLater).toBeGreaterThan(0.01 * 1024 - 1);
    expect(out[COLD]).toBeCloseTo(coldLater, 9);
    // Placements not allowed are never a way on.
    expect(out[placementIndex({ location: 'ONPREM', tier: 'COLD' })]).toBe(Infinity);
  });
});

describe('a cooling dataset on HOT', () => {
  // 1 TB, 40 days old, read about 1.35 times a month now: WARM beats HOT over the next 30 days.
  const input: DecisionInput = {
    datasetId: 1,
    current: { location: 'PUBLIC', tier: 'HOT' },
    placedAt: now - 40 * DAY,
    lastMoveAt: null,
    sizeBytes: TB,
    stats: {
      createdAt: now - 40 * DAY,
      sizeBytes: TB,
      reads: 60,
      writes: 2,
      scans: 0,
      bytesRead: 60 * 0.05 * TB,
      decayAt: now - DAY,
      decay1h: 0,
      decay1d: 0,
      decay1w: 0.5,
      decay30d: 30,
      firstAccess: now - 40 * DAY,
    },
    policy: AUTO,
    moving: false,
  };
  const settings = { ...DEFAULT_POLICY, minModelUpdates: 0 };

  test("when the fleet's data of its age has not been seen to cool, then it goes to WARM as the horizon says", () => {
    const d = new TieringPolicy(cost, new Predictor(), settings).decide(input, now);
    expect(d.to.tier).toBe('WARM');
  });

  test("when the fleet's data of its age keeps cooling, then it goes to COLD, not to WARM where it would be stuck", () => {
    const p = new Predictor();
    coolingFleet(p.ageTrend);
    const d = new TieringPolicy(cost, p, settings).decide(input, now);
    expect(d.to.tier).toBe('COLD');
    expect(d.action).toBe('move');
  });
});
