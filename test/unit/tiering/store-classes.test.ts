import { DEFAULT_CATALOG } from '../../../src/tiering/catalog';
import { CostModel } from '../../../src/tiering/cost';
import { DEFAULT_POLICY, type PolicySettings } from '../../../src/tiering/decision';
import type { StatsSnapshot } from '../../../src/tiering/features';
import { placementIndex, type Location, type Tier } from '../../../src/tiering/placements';
import { TieringPolicy } from '../../../src/tiering/policy';
import { Predictor } from '../../../src/tiering/predictor';
import { placementClasses } from '../../../src/tiering/store-classes';
import type { StoreSpecs } from '../../../src/storage';

const GB = 1024 ** 3;
const DAY = 86_400_000;
const HOUR = 3_600_000;
const at = (location: Location, tier: Tier): number => placementIndex({ location, tier });
const none = { reads: 0, readBytes: 0, writes: 0, writeBytes: 0 };

/** PUBLIC on S3 (AWS, or a compatible server at an endpoint) with COLD in `cold`; the others on files. */
function stores(cold: string, endpoint?: string, warm = 'STANDARD_IA'): StoreSpecs {
  const file = (location: Location) => ({ kind: 'file', location, root: undefined, shared: false }) as const;
  return {
    ONPREM: file('ONPREM'),
    PRIVATE: file('PRIVATE'),
    PUBLIC: {
      kind: 's3',
      location: 'PUBLIC',
      bucket: 'b-1',
      prefix: '',
      endpoint,
      region: 'us-east-1',
      pathStyle: false,
      classes: { HOT: 'STANDARD', WARM: warm, COLD: cold },
      shared: true,
    },
  };
}

describe('pricing a placement by its S3 storage class', () => {
  const plain = new CostModel(DEFAULT_CATALOG);

  test('when the classes are the defaults, then the catalog prices every placement as before, and the classes are known', () => {
    const m = new CostModel(DEFAULT_CATALOG, placementClasses(stores('GLACIER_IR')));
    for (const field of ['storageDay', 'retrieval', 'readReq', 'writeReq', 'minDays', 'firstByteMs'] as const)
      expect(Array.from(m[field])).toEqual(Array.from(plain[field]));
    expect(Array.from(m.restoreMs).every((v) => v === 0)).toBe(true);
    expect(m.classAt(at('PUBLIC', 'COLD'))).toEqual({
      storage_class: 'GLACIER_IR',
      restore_hours: 0,
      retrieval_per_gb: 0.03,
      first_byte_ms: 40,
    });
    expect(m.classAt(at('ONPREM', 'COLD'))).toBeUndefined();
  });

  test('when AWS keeps COLD in DEEP_ARCHIVE, then COLD is priced at its list price: cheap to hold, 12 h and $0.02/GB to read, 180 days minimum', () => {
    const m = new CostModel(DEFAULT_CATALOG, placementClasses(stores('DEEP_ARCHIVE')));
    const cold = at('PUBLIC', 'COLD');
    expect(m.storage(cold, 1024 * GB, 30)).toBeCloseTo(1024 * 0.00099, 6);
    expect(m.restoreMs[cold]).toBe(12 * HOUR);
    expect(m.firstByteMs[cold]).toBe(12 * HOUR);
    expect(m.minStorageDays(cold)).toBe(180);
    // A read there pays the retrieval fee and the restore request.
    const b = m.holdBreakdown(cold, 100 * GB, { reads: 10, readBytes: 50 * GB, writes: 0, writeBytes: 0 }, 30);
    expect(b.retrieval).toBeCloseTo(50 * 0.02, 9);
    expect(b.requests).toBeCloseTo(10 * (0.1 / 1000), 12);
    // Moving out of it retrieves every byte first.
    expect(m.move(cold, at('PUBLIC', 'HOT'), 100 * GB, 365).transfer).toBeGreaterThanOrEqual(100 * 0.02);
    // The other placements keep the catalog's prices.
    expect(m.hold(at('PUBLIC', 'WARM'), GB, none, 30)).toBe(plain.hold(at('PUBLIC', 'WARM'), GB, none, 30));
  });

  test('when AWS keeps WARM in GLACIER_IR, then WARM is priced as GLACIER_IR, not as the catalog row for STANDARD_IA', () => {
    const m = new CostModel(DEFAULT_CATALOG, placementClasses(stores('GLACIER_IR', undefined, 'GLACIER_IR')));
    const warm = at('PUBLIC', 'WARM');
    expect(m.retrieval[warm]).toBe(0.03);
    expect(m.minStorageDays(warm)).toBe(90);
    expect(m.restoreMs[warm]).toBe(0);
  });

  test("when a compatible server keeps COLD in GLACIER, then the operator's catalog prices stay, with the class's restore wait and retrieval fee at least", () => {
    const m = new CostModel(DEFAULT_CATALOG, placementClasses(stores('GLACIER', 'http://minio:9000')));
    const cold = at('PUBLIC', 'COLD');
    expect(m.storage(cold, GB, 30)).toBe(plain.storage(cold, GB, 30));
    expect(m.retrieval[cold]).toBe(Math.max(0.03, 0.01));
    expect(m.restoreMs[cold]).toBe(5 * HOUR);
    expect(m.firstByteMs[cold]).toBe(5 * HOUR);
  });

  test('when a class is one the product does not know, then the catalog prices it', () => {
    const m = new CostModel(DEFAULT_CATALOG, placementClasses(stores('INTELLIGENT_TIERING')));
    const cold = at('PUBLIC', 'COLD');
    expect(m.storage(cold, GB, 30)).toBe(plain.storage(cold, GB, 30));
    expect(m.classAt(cold)).toMatchObject({ storage_class: 'INTELLIGENT_TIERING', restore_hours: 0 });
  });
});

describe('the policy with a class that must be restored before reading', () => {
  const now = Date.UTC(2026, 0, 1);
  const trained = (): Predictor => Object.assign(new Predictor(), { updates: 10_000 });
  // No latency limit: only the restore rule keeps data away from GLACIER.
  const settings: PolicySettings = { ...DEFAULT_POLICY, defaultMaxLatencyMs: null };
  const cost = new CostModel(DEFAULT_CATALOG, placementClasses(stores('GLACIER')));
  const stats = (decay: number): StatsSnapshot => ({
    createdAt: now - 400 * DAY,
    sizeBytes: 500 * GB,
    reads: 30,
    writes: 1,
    scans: 0,
    bytesRead: 30 * GB,
    decayAt: now - (decay > 0 ? DAY : 300 * DAY),
    decay1h: 0,
    decay1d: 0,
    decay1w: decay,
    decay30d: decay * 4,
    firstAccess: now - 400 * DAY,
  });
  const input = (decay: number) => ({
    datasetId: 1,
    current: { location: 'PUBLIC', tier: 'HOT' } as const,
    placedAt: now - 400 * DAY,
    lastMoveAt: null,
    sizeBytes: 500 * GB,
    stats: stats(decay),
    policy: { mode: 'auto', pin: null, maxLatencyMs: null } as const,
    moving: false,
  });

  test('when reads are expected, then the dataset is not sent where each read waits hours, and the candidate says why', () => {
    const policy = new TieringPolicy(cost, trained(), settings);
    const d = policy.decide(input(3), now);
    expect(d.forecast.reads).toBeGreaterThanOrEqual(1);
    expect(d.to).not.toEqual({ location: 'PUBLIC', tier: 'COLD' });
    const cold = policy.candidates(d).find((c) => c.placement.location === 'PUBLIC' && c.placement.tier === 'COLD');
    expect(cold?.excluded).toMatch(
      /^a read waits about 5 h for a restore there, and [\d.]+ reads are expected within \d+ days$/,
    );
  });

  test('when the dataset has been idle for most of a year, then GLACIER is open to it', () => {
    const policy = new TieringPolicy(cost, trained(), settings);
    const d = policy.decide(input(0), now);
    expect(d.forecast.reads).toBeLessThan(1);
    const cold = policy.candidates(d).find((c) => c.placement.location === 'PUBLIC' && c.placement.tier === 'COLD');
    expect(cold?.excluded).toBeNull();
  });
});
