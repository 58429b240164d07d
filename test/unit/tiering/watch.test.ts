import { DEFAULT_CATALOG } from '../../../src/tiering/catalog';
import { CostModel } from '../../../src/tiering/cost';
import { AUTO, DEFAULT_POLICY, type DecisionInput } from '../../../src/tiering/decision';
import { ruleText } from '../../../src/tiering/explain-view';
import { N_FEATURES, type StatsSnapshot } from '../../../src/tiering/features';
import { TieringPolicy } from '../../../src/tiering/policy';
import { Predictor } from '../../../src/tiering/predictor';
import { bornWatched, historyTooShort, watchedDays } from '../../../src/tiering/watch';

const GB = 1024 ** 3;
const DAY = 86_400_000;
const now = Date.UTC(2026, 0, 20);
const HOT = { location: 'PUBLIC', tier: 'HOT' } as const;

/** A learnt model that forecasts no use at all: every demotion looks free of risk. */
function idleModel(): Predictor {
  const weights = new Array<number>(N_FEATURES).fill(0);
  const p = new Array<number>(N_FEATURES * N_FEATURES).fill(0);
  for (let i = 0; i < N_FEATURES; i++) p[i * N_FEATURES + i] = 1;
  return new Predictor(30, { horizon_days: 30, weights, p, updates: 10_000 });
}

/** A report registered `watched` days ago with the estate, read at its last close `idle` days ago. */
function report(watched: number, idle: number): StatsSnapshot {
  return {
    createdAt: now - watched * DAY,
    sizeBytes: 2_000 * GB,
    reads: 12,
    writes: 0,
    scans: 0,
    bytesRead: 12 * 200 * GB,
    decayAt: now - idle * DAY,
    decay1h: 0,
    decay1d: 0.5,
    decay1w: 8,
    decay30d: 12,
    firstAccess: now - (watched - 1) * DAY,
  };
}

/** Written here at its registration `age` days ago, read once after four hours. */
function handOff(age: number): StatsSnapshot {
  const created = now - age * DAY;
  return {
    ...report(age, age - 1 / 6),
    createdAt: created,
    reads: 1,
    writes: 1,
    bytesRead: 2_000 * GB,
    decay1d: 0,
    decay1w: 1.5,
    decay30d: 2,
    firstAccess: created + 60_000,
  };
}

function input(stats: StatsSnapshot): DecisionInput {
  return {
    datasetId: 1,
    current: HOT,
    placedAt: stats.createdAt,
    lastMoveAt: null,
    sizeBytes: stats.sizeBytes,
    stats,
    policy: AUTO,
    moving: false,
  };
}

describe('how long a dataset has been watched', () => {
  test('when its first access came before its registration, then the statistics begin at that access', () => {
    const s = { ...report(10, 2), firstAccess: now - 12 * DAY };
    expect(watchedDays(s, now)).toBeCloseTo(12);
  });

  test('when it has no access yet, then the statistics begin at its registration', () => {
    expect(watchedDays({ ...report(10, 2), firstAccess: null }, now)).toBeCloseTo(10);
  });

  test('when it was written within the hour of its registration, then its whole life is in the statistics', () => {
    expect(bornWatched(handOff(5))).toBe(true);
    expect(bornWatched(report(5, 1))).toBe(false); // never written here
    expect(bornWatched({ ...report(5, 1), writes: 3 })).toBe(false); // written, but a day after registration
  });

  test('when data with an unseen past has been watched less than a horizon and is not idle a whole one, then its history is too short', () => {
    expect(historyTooShort(report(10, 8), 8, now, 30)).toBe(true);
    expect(historyTooShort(report(31, 8), 8, now, 30)).toBe(false); // a horizon watched
    expect(historyTooShort(report(10, 8), 30, now, 30)).toBe(false); // idle a whole horizon
    expect(historyTooShort(handOff(10), 10, now, 30)).toBe(false); // born here
  });
});

describe('a demotion waits for a horizon of the dataset’s own statistics', () => {
  const policy = new TieringPolicy(new CostModel(DEFAULT_CATALOG), idleModel(), DEFAULT_POLICY, 0.15);

  test('when a monthly report registered ten days ago is idle since its close, then it is held even though the model expects no use', () => {
    const d = policy.decide(input(report(10, 8)), now);
    expect(d.forecast.accesses).toBeLessThan(1);
    expect(d.action).toBe('held');
    expect(d.rule).toBe('short-history');
    expect(ruleText(d.action, d.rule)).toMatch(/once a month/);
  });

  test('when the same report has been watched for a horizon, then the model decides: it is demoted', () => {
    const d = policy.decide(input(report(40, 8)), now);
    expect(d.action).toBe('move');
    expect(d.to).not.toEqual(HOT);
  });

  test('when a hand-off written here ten days ago is idle since its read, then it is not held for its short history', () => {
    const d = policy.decide(input(handOff(10)), now);
    expect(d.rule).not.toBe('short-history');
    expect(d.action).toBe('move');
  });
});
