import { DEFAULT_CATALOG } from '../../../src/tiering/catalog';
import { CostModel } from '../../../src/tiering/cost';
import { AUTO, DEFAULT_POLICY, type DecisionInput } from '../../../src/tiering/decision';
import type { StatsSnapshot } from '../../../src/tiering/features';
import { TieringPolicy } from '../../../src/tiering/policy';
import { LABEL_DAYS, Predictor } from '../../../src/tiering/predictor';
import {
  RETURN_CLASS_EDGES,
  RETURN_IDLE_EDGES,
  RETURN_MIN_EXPOSURE,
  ReturnCurve,
  returnClass,
} from '../../../src/tiering/return-curve';

const GB = 1024 ** 3;
const DAY = 86_400_000;
const t0 = Date.UTC(2026, 0, 1);
const HOT = { location: 'PUBLIC', tier: 'HOT' } as const;

/** Written here at `created`, read `reads` times, the last at `lastRead` (long enough ago that its recent rates are near nil). */
function handOff(created: number, lastRead: number, reads = 2): StatsSnapshot {
  return {
    createdAt: created,
    sizeBytes: 500 * GB,
    reads,
    writes: 1,
    scans: 0,
    bytesRead: reads * 500 * GB,
    decayAt: lastRead,
    decay1h: 0,
    decay1d: 0.01,
    decay1w: 0.01,
    decay30d: 0.01,
    firstAccess: created,
  };
}

/** The same dataset registered with a past: its first access came a week before its registration. */
function withPast(s: StatsSnapshot): StatsSnapshot {
  return { ...s, writes: 0, firstAccess: s.createdAt - 7 * DAY };
}

/**
 * `days` daily passes over a fleet where, each day, `perDay` hand-offs are written and read
 * twice within the day, and `comeBack` of every hundred idle one to three days are read again
 * (between two daily passes: the curve puts the return in the bin they were idle in at the first).
 */
function learnFleet(curve: ReturnCurve, days: number, perDay: number, comeBack = 0): void {
  const fleet: StatsSnapshot[] = [];
  for (let d = 1; d <= days; d++) {
    const now = t0 + d * DAY;
    for (let k = 0; k < perDay; k++) fleet.push(handOff(now - DAY + 1_000, now - DAY / 2));
    let n = 0;
    for (const s of fleet) {
      const idle = (now - s.decayAt) / DAY;
      if (idle > 1 && idle < 3 && n++ % 100 < comeBack) s.decayAt = now - 3_600_000;
    }
    const census = curve.begin(now);
    for (const s of fleet) census.add(s);
    curve.learn(census);
  }
}

function decide(predictor: Predictor, stats: StatsSnapshot, now: number) {
  const policy = new TieringPolicy(new CostModel(DEFAULT_CATALOG), predictor, DEFAULT_POLICY);
  const input: DecisionInput = {
    datasetId: 1,
    current: HOT,
    placedAt: stats.createdAt,
    lastMoveAt: null,
    sizeBytes: stats.sizeBytes,
    stats,
    policy: AUTO,
    moving: false,
  };
  return policy.decide(input, now);
}

describe('the fleet’s idle spells (ReturnCurve)', () => {
  test('when no pass has been counted, then it has nothing to say', () => {
    const curve = new ReturnCurve();
    expect(curve.expectedReturns(1, 5, 30)).toBeNull();
  });

  test('when data came with a past the product did not see, or was never read, then it is not counted', () => {
    const s = handOff(t0, t0 + DAY);
    expect(returnClass(s)).toBeGreaterThanOrEqual(0);
    expect(returnClass(withPast(s))).toBe(-1);
    expect(returnClass({ ...s, reads: 0, decayAt: t0 })).toBe(-1);
  });

  test('when hand-offs idle a few days never come back, then their expected returns shrink as the fleet lives longer', () => {
    const short = new ReturnCurve();
    learnFleet(short, 12, 40);
    const long = new ReturnCurve();
    learnFleet(long, 40, 40);
    const c = returnClass(handOff(t0, t0 + DAY));
    const a = short.expectedReturns(c, 5, 30)!;
    const b = long.expectedReturns(c, 5, 30)!;
    expect(a).toBeGreaterThan(0);
    expect(b).toBeLessThan(a);
    expect(b).toBeLessThan(0.3);
  });

  test('when a bin has seen fewer dataset-days than the minimum, then the curve holds back there', () => {
    const curve = new ReturnCurve();
    // Two hand-offs a day: the 4-5 day bin gains two dataset-days a day.
    learnFleet(curve, 10, 2);
    const c = returnClass(handOff(t0, t0 + DAY));
    expect(2 * 6).toBeLessThan(RETURN_MIN_EXPOSURE);
    expect(curve.expectedReturns(c, 4.5, 30)).toBeNull();
  });

  test('when a share of the fleet comes back from a bin, then that bin’s hazard shows it', () => {
    const quiet = new ReturnCurve();
    learnFleet(quiet, 30, 40, 0);
    const busy = new ReturnCurve();
    learnFleet(busy, 30, 40, 30);
    const c = returnClass(handOff(t0, t0 + DAY));
    // Idle half a day to a day at one pass, back by the next: most of a day's hazard within the bin.
    const quietSoon = quiet.expectedReturns(c, 0.6, 0.4)!;
    const busySoon = busy.expectedReturns(c, 0.6, 0.4)!;
    expect(busySoon).toBeGreaterThan(0.2);
    expect(busySoon).toBeGreaterThan(10 * quietSoon);
  });

  test('when the model is saved and loaded, then the curve comes with it and forecasts the same', () => {
    const p = new Predictor(LABEL_DAYS);
    learnFleet(p.returns, 20, 40);
    const loaded = new Predictor(LABEL_DAYS, JSON.parse(JSON.stringify(p.state())) as ReturnType<Predictor['state']>);
    const c = returnClass(handOff(t0, t0 + DAY));
    expect(loaded.returns.expectedReturns(c, 6, 30)).toBe(p.returns.expectedReturns(c, 6, 30));
    // The next pass follows the loaded census on.
    const census = loaded.returns.begin(t0 + 21 * DAY);
    expect(census.since).toBe(t0 + 20 * DAY);
  });
});

describe('the learning gate, opened per dataset by the fleet', () => {
  const now = t0 + 20 * DAY;
  const idleHandOff = handOff(now - 6 * DAY, now - 5 * DAY);

  test('when the model has no labels and the fleet has seen nothing, then a hand-off idle five days is held as learning', () => {
    const d = decide(new Predictor(LABEL_DAYS), idleHandOff, now);
    expect(d.action).toBe('held');
    expect(d.rule).toBe('learning');
  });

  test('when the fleet has shown that hand-offs idle that long stay idle, then it goes to COLD before any label matures', () => {
    const p = new Predictor(LABEL_DAYS);
    learnFleet(p.returns, 20, 40);
    const d = decide(p, idleHandOff, now);
    expect(p.updates).toBe(0);
    expect(d.action).toBe('move');
    expect(d.to.tier).toBe('COLD');
  });

  test('when the same data came with a past the product did not see, then the fleet’s curve does not open the gate for it', () => {
    const p = new Predictor(LABEL_DAYS);
    learnFleet(p.returns, 20, 40);
    const d = decide(p, withPast(idleHandOff), now);
    expect(d.action).toBe('held');
    expect(d.to.tier).toBe('COLD');
  });

  test('when the fleet shows hand-offs come back from a bin, then data idle there is not sent to COLD', () => {
    const p = new Predictor(LABEL_DAYS);
    learnFleet(p.returns, 20, 40, 90);
    const d = decide(p, handOff(now - 4 * DAY, now - 0.7 * DAY), now);
    expect(d.to.tier).not.toBe('COLD');
    // The same dataset once idle past the bins the fleet comes back from.
    expect(decide(p, handOff(now - 8 * DAY, now - 5 * DAY), now).to.tier).toBe('COLD');
  });

  test('when the fleet’s forecast would send it only to WARM, then it waits for the gate as learning', () => {
    // 3% a day come back at every idle time: about one return in 30 days, where WARM is cheapest.
    const cells = RETURN_IDLE_EDGES.length * RETURN_CLASS_EDGES.length;
    const returns = { at: null, census: Array<number>(cells).fill(0), exposure: Array<number>(cells).fill(1_000) };
    const p = new Predictor(LABEL_DAYS, {
      ...new Predictor(LABEL_DAYS).state(),
      returns: { ...returns, returns: Array<number>(cells).fill(30) },
    });
    const d = decide(p, handOff(now - 6 * DAY, now - 2.5 * DAY), now);
    expect(d.to.tier).toBe('WARM');
    expect(d.action).toBe('held');
    expect(d.rule).toBe('learning');
    // Once the model has learnt, the gate is its own and the curve has no say.
    const learnt = new Predictor(LABEL_DAYS, { ...p.state(), updates: DEFAULT_POLICY.minModelUpdates });
    expect(decide(learnt, handOff(now - 6 * DAY, now - 2.5 * DAY), now).rule).not.toBe('learning');
  });
});
