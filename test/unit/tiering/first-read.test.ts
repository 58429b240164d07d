import { DEFAULT_CATALOG } from '../../../src/tiering/catalog';
import { CostModel } from '../../../src/tiering/cost';
import { AUTO, DEFAULT_POLICY } from '../../../src/tiering/decision';
import type { StatsSnapshot } from '../../../src/tiering/features';
import { FirstReadCurve, FirstReadEstimator } from '../../../src/tiering/first-read';
import { TieringPolicy } from '../../../src/tiering/policy';
import { Predictor } from '../../../src/tiering/predictor';
import { PRICE_VARIANTS } from '../../../src/tiering/sim/matrix';

const GB = 1024 ** 3;
const DAY = 86_400_000;
const now = Date.UTC(2026, 0, 1);

/** A fleet where every dataset is first read `delay(i)` days after its creation, one created a day. */
function fleet(days: number, delay: (i: number) => number | null): FirstReadEstimator {
  const est = new FirstReadEstimator();
  for (let age = 0; age < days; age++) {
    for (let k = 0; k < 10; k++) {
      const d = delay(age * 10 + k);
      const read = d !== null && d <= age;
      est.add(now - (age + 0.5) * DAY, now, read ? 5 : 0, 0);
    }
  }
  return est;
}

describe('the first-read curve', () => {
  // Staged data: first read 3 to 28 days after it was written.
  const staged = fleet(120, (i) => 3 + (i % 26)).curve()!;

  test('when data is read days to weeks after it is written, then young unread data is likely to be read soon and old unread data is not', () => {
    expect(staged.pFirstRead(1, 30)).toBeGreaterThan(0.9);
    expect(staged.pFirstRead(10, 30)).toBeGreaterThan(0.9);
    expect(staged.pFirstRead(60, 30)).toBeLessThan(0.05);
    for (let a = 0; a < 80; a += 5) expect(staged.unreadAt(a + 5)).toBeLessThanOrEqual(staged.unreadAt(a));
  });

  test('when the fleet holds no datasets as old as asked about, or too few datasets, then the curve does not answer', () => {
    expect(staged.pFirstRead(100, 30)).toBeNull(); // 130 days: older than any dataset seen
    expect(fleet(10, () => 1).curve()).toBeNull(); // 100 datasets
    expect(FirstReadCurve.from({ datasets: [], unread: [] })).toBeNull();
  });

  test('when data is never read, then unread data of any age known is not expected to be read', () => {
    const never = fleet(120, () => null).curve()!;
    expect(never.pFirstRead(0, 30)).toBeCloseTo(0, 6);
    expect(never.pFirstRead(40, 30)).toBeCloseTo(0, 6);
  });
});

describe('unread data in the policy', () => {
  const stats = (ageDays: number): StatsSnapshot => ({
    createdAt: now - ageDays * DAY,
    sizeBytes: 500 * GB,
    reads: 0,
    writes: 1,
    scans: 0,
    bytesRead: 0,
    decayAt: now - ageDays * DAY,
    decay1h: 0,
    decay1d: 0,
    decay1w: 0,
    decay30d: 0,
    firstAccess: now - ageDays * DAY,
  });
  const input = (ageDays: number) => ({
    datasetId: 1,
    current: { location: 'PUBLIC', tier: 'HOT' } as const,
    placedAt: now - ageDays * DAY,
    lastMoveAt: null,
    sizeBytes: 500 * GB,
    stats: stats(ageDays),
    policy: AUTO,
    moving: false,
  });
  const trained = (): Predictor => {
    const p = new Predictor();
    p.updates = 10_000;
    return p;
  };
  const policy = (curve: FirstReadCurve | null, catalog = DEFAULT_CATALOG): TieringPolicy =>
    new TieringPolicy(new CostModel(catalog), trained(), DEFAULT_POLICY, 0.25, curve);

  test('when unread data has idled a whole horizon, then its demotion goes ahead only where the fleet says data of its age is rarely read later', () => {
    // Before a whole horizon idle, unread data is held whatever the fleet says.
    const staged = fleet(120, (i) => 3 + (i % 26)).curve();
    expect(policy(staged).decide(input(20), now)).toMatchObject({ action: 'held', rule: 'unread' });
    expect(policy(null).decide(input(29), now)).toMatchObject({ action: 'held', rule: 'unread' });
    // Past every delay the fleet shows, it goes.
    expect(policy(staged).decide(input(45), now).action).toBe('move');
    // Where half the data is first read 30 to 100 days after it was written, it waits.
    const late = fleet(150, (i) => (i % 2 === 0 ? 30 + (i % 70) : 1)).curve();
    expect(policy(late).decide(input(45), now)).toMatchObject({ action: 'held', rule: 'unread' });
  });

  test('when COLD retrieval is dearer, then a demotion of unread data that might be read is weighed against it and held longer', () => {
    // A fleet where a third of the data is read late: the chance stays material at every age.
    const late = fleet(180, (i) => (i % 3 === 0 ? 20 + (i % 150) : 1)).curve();
    const x3 = PRICE_VARIANTS.find((v) => v.name === 'cold-retrieval-x3')!.apply(DEFAULT_CATALOG);
    const ages = [30, 35, 40, 45, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140];
    const toCold = (p: TieringPolicy) =>
      ages.filter((a) => {
        const d = p.decide(input(a), now);
        return d.action === 'move' && d.to.tier === 'COLD';
      }).length;
    expect(toCold(policy(late, x3))).toBeLessThan(toCold(policy(late)));
  });
});
