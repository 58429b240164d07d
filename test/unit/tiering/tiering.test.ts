import { CostModel } from '../../../src/tiering/cost';
import { DEFAULT_CATALOG, parseCatalog } from '../../../src/tiering/catalog';
import { PLACEMENTS, placementIndex } from '../../../src/tiering/placements';
import { TopK } from '../../../src/tiering/budget';
import { DEFAULT_POLICY, AUTO } from '../../../src/tiering/decision';
import { TieringPolicy } from '../../../src/tiering/policy';
import { ReadShareEstimator } from '../../../src/tiering/read-share';
import { Predictor } from '../../../src/tiering/predictor';
import { optimum } from '../../../src/tiering/sim/optimum';
import { alwaysHot, s3IntelligentTiering, productPolicy } from '../../../src/tiering/sim/policies';
import { simulate } from '../../../src/tiering/sim/runner';
import { WORKLOADS } from '../../../src/tiering/sim/workloads';
import type { Trace, TraceEvent } from '../../../src/tiering/sim/trace';
import type { StatsSnapshot } from '../../../src/tiering/features';

const GB = 1024 ** 3;
const DAY = 86_400_000;
const idx = (k: string): number =>
  placementIndex({ location: k.split('/')[0] as never, tier: k.split('/')[1] as never });

describe('the cost model', () => {
  const cost = new CostModel(DEFAULT_CATALOG);

  test('when a terabyte sits in S3 Standard for a month, then it costs the list price', () => {
    expect(
      cost.hold(idx('PUBLIC/HOT'), 1024 * GB, { reads: 0, readBytes: 0, writes: 0, writeBytes: 0 }, 30),
    ).toBeCloseTo(0.023 * 1024, 6);
  });

  test('when small objects sit in an infrequent-access class, then they are billed at 128 KB', () => {
    const tiny = cost.storage(idx('PUBLIC/WARM'), 1_000, 30);
    expect(tiny).toBeCloseTo(((128 * 1024) / GB) * 0.0125, 12);
    expect(cost.storage(idx('PUBLIC/HOT'), 1_000, 30)).toBeCloseTo((1_000 / GB) * 0.023, 12);
  });

  test('when data leaves Glacier IR after 10 days, then the 80 days left are charged, and egress applies between locations', () => {
    const m = cost.move(idx('PUBLIC/COLD'), idx('PRIVATE/WARM'), 100 * GB, 10);
    expect(m.early_deletion).toBeCloseTo(100 * 0.004 * (80 / 30), 6);
    // egress 0.09 + the source's retrieval 0.03 per GB, plus one GET and one PUT per 100 MiB part
    expect(m.transfer).toBeCloseTo(100 * (0.09 + 0.03) + 1024 * (0.01 / 1000 + 0), 6);
    expect(cost.move(idx('PUBLIC/COLD'), idx('PUBLIC/COLD'), 100 * GB, 0).total).toBe(0);
  });

  test('when reads hit a class with retrieval fees, then each GB read is charged', () => {
    const b = cost.holdBreakdown(
      idx('PUBLIC/COLD'),
      10 * GB,
      { reads: 1_000, readBytes: 50 * GB, writes: 0, writeBytes: 0 },
      30,
    );
    expect(b.retrieval).toBeCloseTo(50 * 0.03, 9);
    expect(b.requests).toBeCloseTo(1_000 * (0.01 / 1000), 9);
  });

  test('when a catalog edit is invalid, then the error names the field path; a valid one changes only what it names', () => {
    expect(() => parseCatalog({ placements: { 'PUBLIC/WARM': { retrieval_per_gb: 'cheap' } } })).toThrow(
      /placements\.PUBLIC\/WARM\.retrieval_per_gb/,
    );
    expect(() => parseCatalog({ egress_per_gb: { PUBLIC: { MOON: 1 } } })).toThrow(/egress_per_gb\.PUBLIC\.MOON/);
    expect(() => parseCatalog({ placements: { 'PUBLIC/WARM': { min_storage_days: 1.5 } } })).toThrow(/whole number/);
    const c = parseCatalog({ read_egress_per_gb: { PUBLIC: 0.05 } });
    expect(c.read_egress_per_gb).toEqual({ ONPREM: 0, PRIVATE: 0, PUBLIC: 0.05 });
    expect(c.placements).toEqual(DEFAULT_CATALOG.placements);
  });
});

describe('the policy', () => {
  const cost = new CostModel(DEFAULT_CATALOG);
  const now = Date.UTC(2026, 0, 1);
  const idle: StatsSnapshot = {
    createdAt: now - 400 * DAY,
    sizeBytes: 500 * GB,
    reads: 3,
    writes: 1,
    scans: 0,
    bytesRead: 3 * GB,
    decayAt: now - 300 * DAY,
    decay1h: 0,
    decay1d: 0,
    decay1w: 0.001,
    decay30d: 0.5,
    firstAccess: now - 400 * DAY,
  };
  const trained = (): Predictor => {
    const p = new Predictor();
    p.updates = 10_000;
    return p;
  };
  const input = {
    datasetId: 1,
    current: { location: 'PUBLIC', tier: 'HOT' } as const,
    placedAt: now - 400 * DAY,
    lastMoveAt: null,
    sizeBytes: 500 * GB,
    stats: idle,
    policy: AUTO,
    moving: false,
  };

  test('when a big dataset has been idle for most of a year, then it is moved to cold storage with its saving and break-even', () => {
    const d = new TieringPolicy(cost, trained(), DEFAULT_POLICY).decide(input, now);
    expect(d.action).toBe('move');
    expect(d.to.tier).not.toBe('HOT');
    expect(d.savingPerMonth).toBeGreaterThan(0);
    expect(d.breakEvenDays).toBeGreaterThanOrEqual(0);
  });

  test('when a dataset was read only a few times in small parts, then its expected read size leans toward a share of its size, and many reads outweigh that prior', () => {
    const policy = new TieringPolicy(cost, trained(), DEFAULT_POLICY);
    const size = 100 * GB;
    const bytesPerRead = (reads: number, bytesRead: number): number => {
      const u = policy.usage(
        { ...idle, sizeBytes: size, reads, bytesRead, decayAt: now - DAY, decay1w: reads, decay30d: reads },
        size,
        now,
      );
      return u.forecast.read_bytes / u.forecast.reads;
    };
    // Three reads of 1 MB each: not priced as 1 MB reads (a rare whole read carries most bytes).
    const few = bytesPerRead(3, 3 * 1024 ** 2);
    expect(few).toBeGreaterThan(0.08 * size);
    expect(few).toBeLessThan(0.25 * size);
    // A hundred thousand reads of 1 MB: the dataset's own history decides.
    expect(bytesPerRead(100_000, 100_000 * 1024 ** 2)).toBeLessThan(0.001 * size);
    // A hundred reads of 1 MB: still priced at more than a tenth of the size, as a rare whole
    // read would make them (the mean of a hundred parts that held no whole read falls far short).
    expect(bytesPerRead(100, 100 * 1024 ** 2)).toBeGreaterThan(0.09 * size);
    // Reads whose events carried no bytes say nothing about their size: the prior prices them,
    // however many there were (averaging their zeros would make cold storage look free).
    expect(bytesPerRead(10_000, 0)).toBeCloseTo(0.25 * size, -3);
    // The prior is the fleet's share once learnt.
    const learnt = new TieringPolicy(cost, trained(), DEFAULT_POLICY, 0.1);
    const u = learnt.usage(
      { ...idle, sizeBytes: size, reads: 50, bytesRead: 0, decayAt: now - DAY, decay1w: 50, decay30d: 50 },
      size,
      now,
    );
    expect(u.forecast.read_bytes / u.forecast.reads).toBeCloseTo(0.1 * size, -3);
  });

  test("when the fleet's reads are summed, then its read share is learnt from the datasets that reported bytes, once enough reads were seen", () => {
    const est = new ReadShareEstimator();
    est.add(10, 0, 10 * 2 * GB, 10 * GB); // reads of a fifth of the size
    expect(est.value()).toBeNull(); // 10 reads: not enough to trust
    est.add(990, 0, 990 * 1 * GB, 10 * GB); // reads of a tenth
    est.add(5_000, 0, 0, 10 * GB); // no bytes reported: left out
    est.add(40, 40, 40 * 10 * GB, 10 * GB); // only scans: left out
    expect(est.value()).toBeCloseTo((10 * 2 + 990 * 1) / (1_000 * 10), 6);
  });

  test('when a dataset was written but never read, then it is demoted only once idle for a whole horizon, however sure the model is', () => {
    const policy = new TieringPolicy(cost, trained(), DEFAULT_POLICY);
    const written = (daysAgo: number): StatsSnapshot => ({
      ...idle,
      createdAt: now - daysAgo * DAY,
      reads: 0,
      writes: 1,
      bytesRead: 0,
      decayAt: now - daysAgo * DAY,
      decay1w: 0,
      decay30d: 0,
      firstAccess: now - daysAgo * DAY,
    });
    const at = (daysAgo: number) => ({ ...input, placedAt: now - daysAgo * DAY, stats: written(daysAgo) });
    expect(policy.decide(at(10), now)).toMatchObject({ action: 'held', rule: 'unread' });
    expect(policy.decide(at(45), now).action).toBe('move');
    // Once read, the model's forecast decides.
    const read = { ...at(10), stats: { ...written(10), reads: 1, bytesRead: GB } };
    expect(policy.decide(read, now).action).toBe('move');
  });

  test('when the model has not learnt enough yet and the data was used recently, or the dataset moved yesterday, then the move is held and says why', () => {
    // While learning, a dataset idle for ten days is held; one idle for most of a year still goes.
    const recent = { ...input, stats: { ...idle, decayAt: now - 10 * DAY, decay30d: 0.1, decay1w: 0.02 } };
    expect(new TieringPolicy(cost, new Predictor(), DEFAULT_POLICY).decide(recent, now)).toMatchObject({
      action: 'held',
      rule: 'learning',
    });
    expect(new TieringPolicy(cost, new Predictor(), DEFAULT_POLICY).decide(input, now)).toMatchObject({
      action: 'move',
    });
    expect(
      new TieringPolicy(cost, trained(), DEFAULT_POLICY).decide({ ...input, lastMoveAt: now - DAY / 2 }, now),
    ).toMatchObject({ action: 'held', rule: 'cooldown' });
    expect(new TieringPolicy(cost, trained(), DEFAULT_POLICY).decide({ ...input, moving: true }, now)).toMatchObject({
      action: 'held',
      rule: 'in-flight',
    });
  });

  test('when a latency need rules out slow placements, then none of them is chosen', () => {
    const d = new TieringPolicy(cost, trained(), DEFAULT_POLICY).decide(
      { ...input, policy: { mode: 'auto', pin: null, maxLatencyMs: 10 } },
      now,
    );
    const chosen = placementIndex(d.to);
    expect(cost.firstByteMs[chosen]! <= 10 || chosen === placementIndex(input.current)).toBe(true);
  });

  test('when budget order is kept on a stream, then only the best k stay', () => {
    const top = new TopK<number>(3, (a, b) => b - a);
    const dropped = [5, 1, 9, 7, 3, 8].map((n) => top.offer(n)).filter((x) => x !== undefined);
    expect(top.sorted()).toEqual([9, 8, 7]);
    expect(dropped.sort()).toEqual([1, 3, 5]);
  });
});

describe('the offline optimum', () => {
  const cost = new CostModel(DEFAULT_CATALOG);

  test('when checked against brute force over every placement sequence, then it finds the same minimum', () => {
    const D = 5;
    const allowed = PLACEMENTS.map((_, p) => p).filter((p) => cost.firstByteMs[p]! <= 1_000);
    const size = 200 * GB;
    const reads = [3, 0, 0, 40, 0];
    const bytes = reads.map((r) => r * 10 * GB);
    const start = 0;
    const res = optimum({
      cost,
      n: 1,
      days: D,
      start,
      size: Float64Array.of(size),
      createdAt: Float64Array.of(0),
      initial: Uint8Array.of(idx('PUBLIC/HOT')),
      dayReads: Float64Array.from(reads),
      dayBytes: Float64Array.from(bytes),
      dayWrites: new Float64Array(D),
      maxLatencyMs: 1_000,
    });
    let best = Infinity;
    const walk = (d: number, p: number, since: number, acc: number): void => {
      const day = cost.storage(p, size, 1) + reads[d]! * cost.readReq[p]! + (bytes[d]! / GB) * cost.retrieval[p]!;
      if (d === D - 1) return void (best = Math.min(best, acc + day));
      for (const q of allowed) {
        const m = q === p ? 0 : cost.move(p, q, size, d + 1 - since).total;
        walk(d + 1, q, q === p ? since : d + 1, acc + day + m);
      }
    };
    walk(0, idx('PUBLIC/HOT'), 0, 0);
    expect(res.total).toBeCloseTo(best, 1);
  });
});

describe('the replay', () => {
  const start = Date.UTC(2025, 0, 1);
  const trace = (days: number): Trace => ({
    catalog: {
      workload: 'test',
      description: '',
      start,
      days,
      datasets: [
        { name: 'busy', size_bytes: 50 * GB, created_at: start },
        { name: 'idle', size_bytes: 500 * GB, created_at: start },
      ],
    },
    *events(): Iterable<TraceEvent> {
      for (let d = 0; d < days; d++)
        for (let h = 0; h < 24; h++)
          yield { ts: start + d * DAY + h * 3_600_000, dataset: 'busy', type: 'read', bytes: 10 * GB };
    },
  });

  test('when a busy and an idle dataset are replayed, then always-HOT never moves, S3-IT cools the idle one after 30 days, and the optimum costs least', () => {
    const cost = new CostModel(DEFAULT_CATALOG);
    const predictor = new Predictor();
    const r = simulate(trace(120), {
      cost,
      settings: { ...DEFAULT_POLICY, minModelUpdates: 0 },
      predictor,
      policies: [
        productPolicy(new TieringPolicy(cost, predictor, { ...DEFAULT_POLICY, minModelUpdates: 0 })),
        alwaysHot,
        s3IntelligentTiering,
      ],
      optimum: true,
    });
    const by = Object.fromEntries(r.policies.map((p) => [p.policy, p]));
    expect(by['always-hot']!.moves).toBe(0);
    expect(by['s3-it']!.moves).toBe(2); // idle: HOT -> WARM at day 30, WARM -> COLD at day 90
    for (const p of r.policies) expect(by.optimum!.total).toBeLessThanOrEqual(p.total + 0.01);
    expect(by.product!.total).toBeLessThan(by['always-hot']!.total);
    expect(r.events).toBe(120 * 24);
    expect(r.forecast_quality.observations).toBeGreaterThan(0);
  });

  test('when the catalog grows during a replay, then the forecast sample is drawn from the datasets that exist, so the model trains at its full rate', () => {
    // read-once creates its datasets uniformly over the trace: early on, few of them exist.
    const t = WORKLOADS['read-once']!.generate({ datasets: 400, days: 60, seed: 3 });
    const cost = new CostModel(DEFAULT_CATALOG);
    const predictor = new Predictor();
    const r = simulate(t, {
      cost,
      settings: DEFAULT_POLICY,
      predictor,
      policies: [alwaysHot],
      optimum: false,
      observationsPerStep: 20,
    });
    // Observations are taken on the 30 days whose labels mature within the 60, 20 a day (a
    // dataset exists from day 1: the first one is created within hours).
    expect(r.forecast_quality.observations).toBeGreaterThanOrEqual(20 * 29);
    expect(predictor.updates).toBe(r.forecast_quality.observations);
  });

  test("when forecasts are scored, then those made once the model has learnt are reported apart, and on read-once they beat the original demo's", () => {
    const t = WORKLOADS['read-once']!.generate({ datasets: 2_000, days: 90, seed: 4 });
    const settings = { ...DEFAULT_POLICY, minModelUpdates: 1_000 };
    const r = simulate(t, {
      cost: new CostModel(DEFAULT_CATALOG),
      settings,
      predictor: new Predictor(),
      policies: [alwaysHot],
      optimum: false,
    });
    const all = r.forecast_quality;
    const trained = r.forecast_quality_trained;
    // Labels mature after 30 days and 200 are taken a day: the gate opens on day 35, and
    // observations stop 30 days before the end.
    expect(trained.observations).toBeGreaterThan(0);
    expect(trained.observations).toBeLessThan(all.observations);
    expect(trained.mae_log.model).toBeLessThan(trained.mae_log.seed_regression);
    expect(trained.mae_log.model).toBeLessThan(trained.mae_log.seed_ewma);
  });

  test("when a workload's expected use is summed, then it matches the reads, bytes and writes it generates, and read-once has none", () => {
    for (const name of ['cooling', 'zipf', 'cycles', 'month-end', 'nightly-scan', 'mix']) {
      const t = WORKLOADS[name]!.generate({ datasets: 2_000, days: 60, seed: 5 });
      const use = t.expected!();
      const D = t.catalog.days;
      const row = new Map(t.catalog.datasets.map((d, i) => [d.name, i]));
      const seen = { reads: 0, bytes: 0, writes: 0 };
      const want = { reads: 0, bytes: 0, writes: 0 };
      for (const e of t.events()) {
        const i = row.get(e.dataset)!;
        if (use.known[i] !== 1) continue;
        if (e.type === 'read') {
          seen.reads++;
          seen.bytes += e.bytes;
        } else seen.writes++;
      }
      for (let i = 0; i < t.catalog.datasets.length; i++) {
        for (let d = 0; d < D; d++) {
          want.reads += use.reads[i * D + d]!;
          want.bytes += use.bytes[i * D + d]!;
          want.writes += use.writes[i * D + d]!;
        }
      }
      // Poisson counts: within 5 standard deviations. Bytes per read are heavy-tailed: within 10%.
      expect({ name, reads: Math.abs(seen.reads - want.reads) <= 5 * Math.sqrt(want.reads) }).toEqual({
        name,
        reads: true,
      });
      expect({ name, writes: Math.abs(seen.writes - want.writes) <= 5 * Math.sqrt(want.writes) }).toEqual({
        name,
        writes: true,
      });
      expect({ name, bytes: Math.abs(seen.bytes / want.bytes - 1) < 0.1 }).toEqual({ name, bytes: true });
    }
    const once = WORKLOADS['read-once']!.generate({ datasets: 200, days: 30 });
    expect(once.expected!().known.every((k) => k === 0)).toBe(true);
  });

  test('when the informed bound is computed, then it costs no less than the optimum and less than the policies that cannot see the future', () => {
    const t = WORKLOADS['cooling']!.generate({ datasets: 2_000, days: 120, seed: 2 });
    const cost = new CostModel(DEFAULT_CATALOG);
    const predictor = new Predictor();
    const r = simulate(t, {
      cost,
      settings: DEFAULT_POLICY,
      predictor,
      policies: [productPolicy(new TieringPolicy(cost, predictor, DEFAULT_POLICY)), alwaysHot, s3IntelligentTiering],
      optimum: true,
      informed: true,
    });
    const by = Object.fromEntries(r.policies.map((p) => [p.policy, p]));
    expect(by.informed!.total).toBeGreaterThan(by.optimum!.total);
    for (const p of ['product', 'always-hot', 's3-it'])
      expect({ p, below: by.informed!.total < by[p]!.total }).toEqual({ p, below: true });
    // A recorded trace knows no expectation: the bound is left out rather than guessed.
    const recorded = simulate(
      { catalog: t.catalog, events: () => t.events() },
      {
        cost,
        settings: DEFAULT_POLICY,
        predictor: new Predictor(),
        policies: [alwaysHot],
        optimum: false,
        informed: true,
      },
    );
    expect(recorded.policies.map((p) => p.policy)).toEqual(['always-hot']);
  });
});
