import type { StatsSnapshot } from '../../../src/tiering/features';
import { READS_PER_ACCESS_PRIOR, readsPerAccess } from '../../../src/tiering/read-share';
import { READ_SPLIT_WEIGHT, ReadSplitEstimator } from '../../../src/tiering/read-split';

const snapshot = (reads: number, writes: number): StatsSnapshot => ({
  createdAt: 0,
  sizeBytes: 1,
  reads,
  writes,
  scans: 0,
  bytesRead: 0,
  decayAt: 0,
  decay1h: 0,
  decay1d: 0,
  decay1w: 0,
  decay30d: 0,
  firstAccess: null,
});

/** A deterministic binomial draw: `n` accesses, each a read with chance `p`. */
function draw(n: number, p: number, seed: number): number {
  let x = seed;
  let reads = 0;
  for (let k = 0; k < n; k++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    if (x / 2 ** 31 < p) reads++;
  }
  return reads;
}

describe("the fleet's reads per access", () => {
  test('when fewer than a thousand accesses were seen, then nothing is learnt', () => {
    const est = new ReadSplitEstimator();
    for (let i = 0; i < 50; i++) est.add(15, 0, 3);
    expect(est.value()).toBeNull();
  });

  test("when every dataset reads with one split, then the prior is the fleet's split at the largest weight", () => {
    const est = new ReadSplitEstimator();
    for (let i = 0; i < 500; i++) {
      const n = 5 + (i % 20);
      const reads = draw(n, 0.87, i + 1);
      est.add(reads + 2, 2, n - reads); // two scans: left out of both counts
    }
    const prior = est.value()!;
    expect(prior.share).toBeCloseTo(0.87, 1);
    expect(prior.accesses).toBe(READ_SPLIT_WEIGHT.max);
  });

  test("when datasets' splits differ widely, then the fleet's split weighs little", () => {
    const est = new ReadSplitEstimator();
    // Half read-only, half write-mostly: the spread is all between datasets.
    for (let i = 0; i < 500; i++) est.add(i % 2 === 0 ? 20 : 2, 0, i % 2 === 0 ? 0 : 18);
    const prior = est.value()!;
    expect(prior.share).toBeCloseTo(0.55, 2);
    expect(prior.accesses).toBe(READ_SPLIT_WEIGHT.min);
  });

  test("when busy datasets read more than quiet ones, then the prior is a dataset's typical split, not the pooled one", () => {
    const est = new ReadSplitEstimator();
    for (let i = 0; i < 100; i++) est.add(990, 0, 10); // busy: 99% reads
    for (let i = 0; i < 900; i++) est.add(6, 0, 4); // quiet: 60% reads
    expect(est.reads / est.accesses).toBeGreaterThan(0.9);
    expect(est.value()!.share).toBeCloseTo(0.1 * 0.99 + 0.9 * 0.6, 9);
  });

  test('when datasets differ somewhat, then the weight lies between the bounds', () => {
    const est = new ReadSplitEstimator();
    for (let i = 0; i < 1_000; i++) {
      const p = i % 2 === 0 ? 0.95 : 0.75;
      est.add(draw(30, p, i + 7), 0, 30 - draw(30, p, i + 7));
    }
    const prior = est.value()!;
    expect(prior.accesses).toBeGreaterThan(READ_SPLIT_WEIGHT.min);
    expect(prior.accesses).toBeLessThan(READ_SPLIT_WEIGHT.max);
  });

  test("when a hand-off was written once and read once, then it is priced at the fleet's split, not 0.9", () => {
    const fleet = { share: 0.57, accesses: 100 };
    expect(readsPerAccess(snapshot(1, 1), fleet)).toBeCloseTo((1 + 100 * 0.57) / 102, 12);
    expect(readsPerAccess(snapshot(1, 1))).toBeCloseTo((1 + 2 * READS_PER_ACCESS_PRIOR.share) / 4, 12);
  });
});
