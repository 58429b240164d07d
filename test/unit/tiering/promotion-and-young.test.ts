import { DEFAULT_CATALOG, parseCatalog } from '../../../src/tiering/catalog';
import { CostModel } from '../../../src/tiering/cost';
import { AUTO, DEFAULT_POLICY, type DecisionInput } from '../../../src/tiering/decision';
import { ruleText } from '../../../src/tiering/explain-view';
import { N_FEATURES, type StatsSnapshot } from '../../../src/tiering/features';
import { TieringPolicy, YOUNG_DAYS } from '../../../src/tiering/policy';
import { Predictor } from '../../../src/tiering/predictor';
import { PRICE_VARIANTS } from '../../../src/tiering/sim/matrix';

const GB = 1024 ** 3;
const DAY = 86_400_000;
const now = Date.UTC(2026, 0, 1);

/** A learnt model with one weight: the horizon repeats feature `k` (5: the lifetime rate; none: zero). */
function model(k: number | null): Predictor {
  const weights = new Array<number>(N_FEATURES).fill(0);
  if (k !== null) weights[k] = 1;
  const p = new Array<number>(N_FEATURES * N_FEATURES).fill(0);
  for (let i = 0; i < N_FEATURES; i++) p[i * N_FEATURES + i] = 1;
  return new Predictor(30, { horizon_days: 30, weights, p, updates: 10_000 });
}

function input(stats: StatsSnapshot, current: DecisionInput['current'], placedDaysAgo: number): DecisionInput {
  return {
    datasetId: 1,
    current,
    placedAt: now - placedDaysAgo * DAY,
    lastMoveAt: null,
    sizeBytes: stats.sizeBytes,
    stats,
    policy: AUTO,
    moving: false,
  };
}

describe('promotions wait for recent use', () => {
  const size = 100 * GB;
  // Read twice a day for two months, half of its size each time.
  const busy: StatsSnapshot = {
    createdAt: now - 90 * DAY,
    sizeBytes: size,
    reads: 120,
    writes: 1,
    scans: 0,
    bytesRead: 120 * 0.5 * size,
    decayAt: now - 35 * DAY,
    decay1h: 0,
    decay1d: 0,
    decay1w: 20,
    decay30d: 60,
    firstAccess: now - 60 * DAY,
  };
  const warm = { location: 'PUBLIC', tier: 'WARM' } as const;
  const policy = new TieringPolicy(new CostModel(DEFAULT_CATALOG), model(5), DEFAULT_POLICY, 0.15);

  test('when data in WARM has been idle for five weeks after a busy phase, then a forecast from its long-run rate does not promote it', () => {
    const d = policy.decide(input(busy, warm, 60), now);
    expect(d.forecast.accesses).toBeGreaterThan(30); // the model still expects its old pace...
    expect(d.action).toBe('stay'); // ...but nothing recent bears it out
    expect(d.to).toEqual(warm);
  });

  test('when the same data is read at its old pace this week, then it is promoted', () => {
    const back = { ...busy, decayAt: now - 0.1 * DAY, decay1w: 20 };
    const d = policy.decide(input(back, warm, 60), now);
    expect(d.action).toBe('move');
    expect(d.to).toEqual({ location: 'PUBLIC', tier: 'HOT' });
  });
});

describe('young data is not demoted on its first forecasts', () => {
  const size = 1_000 * GB;
  // Written and read once, `ageDays` ago; the model forecasts nothing more.
  const handOff = (ageDays: number): StatsSnapshot => ({
    createdAt: now - ageDays * DAY,
    sizeBytes: size,
    reads: 1,
    writes: 1,
    scans: 0,
    bytesRead: size,
    decayAt: now - ageDays * DAY,
    decay1h: 0,
    decay1d: 0,
    decay1w: 0,
    decay30d: 0,
    firstAccess: now - ageDays * DAY,
  });
  const hot = { location: 'PUBLIC', tier: 'HOT' } as const;
  const x3 = new CostModel(PRICE_VARIANTS.find((v) => v.name === 'cold-retrieval-x3')!.apply(DEFAULT_CATALOG));

  test.each([
    ['list prices', new CostModel(DEFAULT_CATALOG)],
    ['COLD retrieval ×3', x3],
  ])(
    'when a dataset written and read hours ago is forecast idle, then a demotion to slower storage waits %s',
    (_name, cost) => {
      const policy = new TieringPolicy(cost, model(null), DEFAULT_POLICY, 0.15);
      const hours = policy.decide(input(handOff(0.1), hot, 0.1), now);
      expect(hours).toMatchObject({ action: 'held', rule: 'young' });
      expect(policy.decide(input(handOff(YOUNG_DAYS - 0.5), hot, YOUNG_DAYS - 0.5), now).rule).toBe('young');
      const older = policy.decide(input(handOff(YOUNG_DAYS + 0.5), hot, YOUNG_DAYS + 0.5), now);
      expect(older.action).toBe('move');
      expect(older.to.tier).not.toBe('HOT');
    },
  );

  test('when young data can go to storage that is only cheaper, with reads priced as here, then it moves at once', () => {
    // PRIVATE/HOT made cheaper than PUBLIC/HOT, and free to reach: no bet on the forecast.
    const cheapPrivate = new CostModel(
      parseCatalog({
        placements: { 'PRIVATE/HOT': { storage_gb_month: 0.01 } },
        egress_per_gb: { PUBLIC: { ONPREM: 0.09, PRIVATE: 0, PUBLIC: 0 } },
      }),
    );
    const policy = new TieringPolicy(cheapPrivate, model(null), { ...DEFAULT_POLICY, defaultMaxLatencyMs: 10 }, 0.15);
    const d = policy.decide(input(handOff(0.1), hot, 0.1), now);
    expect(d.action).toBe('move');
    expect(d.to).toEqual({ location: 'PRIVATE', tier: 'HOT' });
  });

  test('when a move is held as young, then the recommendations say why', () => {
    expect(ruleText('held', 'young')).toMatch(/days old/);
  });
});
