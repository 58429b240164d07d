import { DEFAULT_CATALOG } from '../../../src/tiering/catalog';
import { CostModel } from '../../../src/tiering/cost';
import { AUTO, DEFAULT_POLICY, type DecisionInput } from '../../../src/tiering/decision';
import { N_FEATURES, type StatsSnapshot } from '../../../src/tiering/features';
import { TieringPolicy } from '../../../src/tiering/policy';
import { Predictor } from '../../../src/tiering/predictor';
import { ownEvidenceHolds, pRateAbove, type RateEvidence } from '../../../src/tiering/rate-risk';
import { READS_PER_ACCESS_PRIOR, readsPerAccess } from '../../../src/tiering/read-share';

const GB = 1024 ** 3;
const TB = 1024 * GB;
const DAY = 86_400_000;
const now = Date.UTC(2026, 0, 1);

const snapshot = (reads: number, writes: number, over: Partial<StatsSnapshot> = {}): StatsSnapshot => ({
  createdAt: now - 40 * DAY,
  sizeBytes: 5 * TB,
  reads,
  writes,
  scans: 0,
  bytesRead: reads * 0.12 * 5 * TB,
  decayAt: now - DAY,
  decay1h: 0,
  decay1d: 0,
  decay1w: 0,
  decay30d: 0,
  firstAccess: now - 39 * DAY,
  ...over,
});

describe('the share of accesses that are reads', () => {
  test('when a dataset has no accesses yet, then the prior share is used', () => {
    expect(readsPerAccess(snapshot(0, 0))).toBeCloseTo(READS_PER_ACCESS_PRIOR.share, 12);
  });

  test('when 4 reads and 3 writes were counted, then reads are priced above 4 in 7, toward the prior', () => {
    const share = readsPerAccess(snapshot(4, 3));
    expect(share).toBeCloseTo((4 + 2 * 0.9) / 9, 12);
    expect(share).toBeGreaterThan(4 / 7 + 0.05);
  });

  test("when hundreds of accesses were counted, then the dataset's own split decides", () => {
    expect(readsPerAccess(snapshot(400, 300))).toBeCloseTo(4 / 7, 2);
    expect(readsPerAccess(snapshot(400, 300, { scans: 100 }))).toBeCloseTo((300 + 1.8) / 602, 12);
  });
});

describe("a demotion weighed on the dataset's own rate", () => {
  // About 3.5 accesses a month seen over 25 days; the break-even is 6 a month.
  const evidence: RateEvidence = { count: 3, exposure: 25, breakEven: 6, comeBack: 73, perAccess: 4.5, recent: true };
  const margin = 1.6;
  const risk = pRateAbove(3, 25, 6, 30) * 73;

  test('when the forecast dips below its own count, then the saving weighed is the one at its own rate and it is held', () => {
    // At a forecast of 2.4 a month the saving is (6 - 2.4) × 4.5 = 16.2: enough against the risk alone.
    expect(16.2 - risk).toBeGreaterThan(margin);
    expect(ownEvidenceHolds(evidence, 16.2, margin, 30)).toBe(true);
  });

  test('when its own count is low, then the forecast saving stands and the demotion goes ahead', () => {
    const sparse = { ...evidence, count: 0.5 };
    expect(ownEvidenceHolds(sparse, 16.2, margin, 30)).toBe(false);
  });

  test('when it was idle a whole horizon, then its older count does not lower the saving', () => {
    expect(ownEvidenceHolds({ ...evidence, recent: false }, 16.2, margin, 30)).toBe(false);
  });

  test('when the rate is surely below the break-even, then it says nothing', () => {
    expect(ownEvidenceHolds({ ...evidence, count: 0, exposure: 3_000 }, 16.2, margin, 30)).toBe(false);
  });
});

describe('a 5 TB dataset read about four times a month, at half storage prices', () => {
  // A learnt model that forecasts one access a month whatever the dataset did.
  const weights = new Array<number>(N_FEATURES).fill(0);
  weights[0] = Math.log(2);
  const p = new Array<number>(N_FEATURES * N_FEATURES).fill(0);
  for (let i = 0; i < N_FEATURES; i++) p[i * N_FEATURES + i] = 1;
  const predictor = new Predictor(30, { horizon_days: 30, weights, p, updates: 10_000 });
  const catalog = structuredClone(DEFAULT_CATALOG);
  for (const k of Object.keys(catalog.placements)) catalog.placements[k]!.storage_gb_month *= 0.5;
  const policy = new TieringPolicy(new CostModel(catalog), predictor, DEFAULT_POLICY, 0.12);
  const input = (s: StatsSnapshot): DecisionInput => ({
    datasetId: 1,
    current: { location: 'PUBLIC', tier: 'HOT' },
    placedAt: now - 40 * DAY,
    lastMoveAt: null,
    sizeBytes: 5 * TB,
    stats: s,
    policy: AUTO,
    moving: false,
  });

  test('when the forecast is a quarter of its own count, then the demotion to WARM is held as uncertain', () => {
    const d = policy.decide(input(snapshot(4, 0, { decay30d: 2.5, decay1w: 0.6 })), now);
    expect(d.to.tier).toBe('WARM');
    expect(d).toMatchObject({ action: 'held', rule: 'uncertain' });
  });

  test('when it was read once in forty days, then the same forecast demotes it', () => {
    const d = policy.decide(input(snapshot(2, 0, { decay30d: 0.4, decay1w: 0 })), now);
    expect(d.action).toBe('move');
  });
});
