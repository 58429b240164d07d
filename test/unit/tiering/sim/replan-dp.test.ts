import { CostModel } from '../../../../src/tiering/cost';
import { DEFAULT_CATALOG } from '../../../../src/tiering/catalog';
import { PLACEMENTS, placementIndex } from '../../../../src/tiering/placements';
import { layout, optimum } from '../../../../src/tiering/sim/optimum';
import { DatasetPrices, planBackward, type DayPlan } from '../../../../src/tiering/sim/replan-dp';

const GB = 1024 ** 3;
const DAY = 86_400_000;
const start = Date.UTC(2025, 0, 1);
const cost = new CostModel(DEFAULT_CATALOG);
const L = layout(cost, null);
const HOT = placementIndex({ location: 'PUBLIC', tier: 'HOT' });
const COLD = placementIndex({ location: 'PUBLIC', tier: 'COLD' });

/** A small deterministic generator, so the cases are the same on every run. */
function lcg(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

/** Follows a plan table from its first day: the placement of each day after the step. */
function follow(table: ReturnType<typeof planBackward>, initial: number, days: number): number[] {
  let s = L.off[initial]!;
  const out: number[] = [];
  for (let d = table.from; d < days; d++) {
    const q = table.act[(d - table.from) * L.S + s]!;
    if (q >= 0) s = L.off[q]!;
    const p = L.stateP[s]!;
    out.push(p);
    s = L.off[p]! + Math.min(L.stateA[s]! + 1, L.cap[p]!);
  }
  return out;
}

describe('the DP backwards over a plan that changes by day', () => {
  it('when the plan is what happened, then its cost from the creation day equals the forward optimum', () => {
    const D = 120;
    const rnd = lcg(7);
    let moves = 0;
    let early = 0;
    for (let k = 0; k < 7; k++) {
      // The last starts on COLD and is busy at once: leaving it early pays its minimum duration.
      const initial = k === 6 ? COLD : HOT;
      const size = (k === 0 ? 3 * 1024 : 1 + rnd() * 400) * GB;
      const c = k % 2 === 0 ? 0 : Math.floor(rnd() * 40);
      const createdAt = start + c * DAY + (k % 2 === 0 ? -DAY : Math.floor(rnd() * DAY));
      const reads = new Float64Array(D);
      const bytes = new Float64Array(D);
      const writes = new Float64Array(D);
      for (let d = c; d < D; d++) {
        // Busy spells and quiet ones, so the optimum moves both ways.
        const busy = d < 20 || d >= 100 || k === 6;
        reads[d] = busy ? Math.floor(rnd() * 8) : rnd() < 0.05 ? 1 : 0;
        bytes[d] = reads[d]! * size * 0.2;
        writes[d] = rnd() < 0.1 ? 1 : 0;
      }
      const firstFrac = (start + (c + 1) * DAY - Math.max(createdAt, start)) / DAY;
      const forward = optimum({
        cost,
        n: 1,
        days: D,
        start,
        size: Float64Array.of(size),
        createdAt: Float64Array.of(Math.max(createdAt, start)),
        initial: Uint8Array.of(initial),
        dayReads: reads,
        dayBytes: bytes,
        dayWrites: writes,
        maxLatencyMs: null,
      });
      const pr = new DatasetPrices(cost, L);
      pr.price(size);
      const plan: DayPlan = { reads, bytes, writes, scale: 1 };
      const back = planBackward(pr, plan, { days: D, c, firstFrac }, c);
      expect(back.value[L.off[initial]!]!).toBeCloseTo(forward.total, 1);
      moves += forward.moves;
      early += forward.early_deletion;
    }
    // Cases where the optimum moves, so the moves' and early deletions' prices are compared too.
    expect(moves).toBeGreaterThan(3);
    expect(early).toBeGreaterThan(0);
  });

  it('when the rate falls to nothing on day 40, then the plan holds the fast tier until then and demotes after', () => {
    const D = 150;
    const size = 1024 * GB;
    const busyUntil = 40;
    const reads = new Float64Array(D).map((_, d) => (d < busyUntil ? 30 : 0));
    const bytes = reads.map((r) => r * size * 0.1);
    const writes = new Float64Array(D);
    const pr = new DatasetPrices(cost, L);
    pr.price(size);
    const x = { days: D, c: 0, firstFrac: 1 };
    const path = follow(planBackward(pr, { reads, bytes, writes, scale: 1 }, x, 1), HOT, D);
    const storageOf = (p: number): number => cost.storage(p, size, 1);
    const slowest = (from: number, to: number): boolean =>
      path.slice(from, to).every((p) => PLACEMENTS[p]!.tier === 'HOT');
    expect(slowest(0, busyUntil - 1)).toBe(true);
    expect(storageOf(path[busyUntil + 5]!)).toBeLessThan(storageOf(HOT));
    // The same busy rate planned as lasting: it never leaves the fast tier.
    const flat = new Float64Array(D).fill(30);
    const flatPath = follow(
      planBackward(pr, { reads: flat, bytes: flat.map((r) => r * size * 0.1), writes, scale: 1 }, x, 1),
      HOT,
      D,
    );
    expect(flatPath.every((p) => PLACEMENTS[p]!.tier === 'HOT')).toBe(true);
  });

  it('when the plan is scaled, then it costs the same as the plan with its use multiplied', () => {
    const D = 60;
    const size = 50 * GB;
    const reads = new Float64Array(D).map((_, d) => 1 + (d % 7));
    const bytes = reads.map((r) => r * GB);
    const writes = new Float64Array(D).fill(0.5);
    const pr = new DatasetPrices(cost, L);
    pr.price(size);
    const x = { days: D, c: 0, firstFrac: 1 };
    const scaled = planBackward(pr, { reads, bytes, writes, scale: 0.3 }, x, 0);
    const times = (a: Float64Array): Float64Array => a.map((v) => v * 0.3);
    const multiplied = planBackward(
      pr,
      { reads: times(reads), bytes: times(bytes), writes: times(writes), scale: 1 },
      x,
      0,
    );
    expect(scaled.value[L.off[HOT]!]!).toBeCloseTo(multiplied.value[L.off[HOT]!]!, 9);
  });
});
