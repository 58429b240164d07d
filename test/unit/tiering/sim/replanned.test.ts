import { CostModel } from '../../../../src/tiering/cost';
import { DEFAULT_CATALOG } from '../../../../src/tiering/catalog';
import { placementIndex } from '../../../../src/tiering/placements';
import { DayUse, type BoundInput } from '../../../../src/tiering/sim/bounds';
import { groupKeys, historyKeys, ScaleLearner } from '../../../../src/tiering/sim/replan-learner';
import { replannedBound } from '../../../../src/tiering/sim/replanned';
import type { ExpectedUse } from '../../../../src/tiering/sim/trace';

const GB = 1024 ** 3;
const DAY = 86_400_000;
const start = Date.UTC(2025, 0, 1);
const D = 100;
const HOT = placementIndex({ location: 'PUBLIC', tier: 'HOT' });

function lcg(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

/** Poisson by inversion: enough for small daily rates. */
function poisson(rnd: () => number, mean: number): number {
  let k = 0;
  let p = Math.exp(-mean);
  let s = p;
  const u = rnd();
  while (u > s && k < 200) {
    k++;
    p *= mean / k;
    s += p;
  }
  return k;
}

/**
 * 40 steady datasets at known rates (0.01 to 5 reads a day, whole reads: bytes a whole size) and 40
 * hand-offs whose future depends on their past (read the day they are written, half of them again two days on).
 */
function fleet(): { inp: BoundInput; actual: DayUse; expected: ExpectedUse; names: string[]; created: number[] } {
  const rnd = lcg(11);
  const n = 80;
  const size = new Float64Array(n).map((_, i) => (i % 5 === 0 ? 2048 : 64) * GB);
  const created = Array.from({ length: n }, (_, i) => (i < 40 ? start - 30 * DAY : start + (1 + (i % 37) * 3) * DAY));
  const names = Array.from({ length: n }, (_, i) => (i < 40 ? `steady-${i}` : `handoff-${i}`));
  const actual = new DayUse(n, D);
  const expected: ExpectedUse = {
    reads: new Float64Array(n * D),
    bytes: new Float64Array(n * D),
    writes: new Float64Array(n * D),
    known: new Uint8Array(n),
  };
  for (let i = 0; i < n; i++) {
    if (i < 40) {
      expected.known[i] = 1;
      const rate = 0.01 * 500 ** (i / 39);
      for (let d = 0; d < D; d++) {
        expected.reads[i * D + d] = rate;
        expected.bytes[i * D + d] = rate * size[i]!;
        for (let r = poisson(rnd, rate); r > 0; r--) actual.read(i * D + d, size[i]!);
      }
    } else {
      const c = Math.floor((created[i]! - start) / DAY);
      actual.write(i * D + c);
      actual.read(i * D + c, size[i]!);
      if (i % 2 === 0 && c + 2 < D) actual.read(i * D + c + 2, size[i]!);
    }
  }
  const inp: BoundInput = {
    cost: new CostModel(DEFAULT_CATALOG),
    n,
    days: D,
    start,
    size,
    createdAt: Float64Array.from(created, (t) => Math.max(t, start)),
    initial: new Uint8Array(n).fill(HOT),
    maxLatencyMs: null,
  };
  return { inp, actual, expected, names, created };
}

/** Each dataset's placement on each day, under the bound. */
function placements(f: ReturnType<typeof fleet>, actual: DayUse): Int16Array {
  const out = new Int16Array(f.inp.n * D).fill(-1);
  replannedBound(f.inp, actual, f.expected, {
    grid: 1.1,
    groups: groupKeys(f.names, f.created, start),
    onDay: (i, d, p) => (out[i * D + d] = p),
  });
  return out;
}

/** The same use, with dataset i read `reads` times a day (whole reads) from day t on. */
function busyFrom(f: ReturnType<typeof fleet>, i: number, t: number, reads: number): DayUse {
  const u = new DayUse(f.inp.n, D);
  u.reads.set(f.actual.reads);
  u.bytes.set(f.actual.bytes);
  u.writes.set(f.actual.writes);
  for (let d = t; d < D; d++) {
    u.reads[i * D + d] = reads;
    u.bytes[i * D + d] = reads * f.inp.size[i]!;
  }
  return u;
}

describe('the re-planned bound plans on what a learner knows so far', () => {
  const f = fleet();
  const before = placements(f, f.actual);

  it.each([
    ['a steady dataset read rarely', 6, 60, true],
    // Hand-offs read twice were never read again: a learner of them expects nothing more, whatever comes.
    ['a hand-off', 55, 56, false],
  ])(
    'when %s is read every day from day t on, then its placements up to day t do not change',
    (_what, i, t, reacts) => {
      const after = placements(f, busyFrom(f, i, t, 20));
      const row = (a: Int16Array): number[] => Array.from(a.subarray(i * D, (i + 1) * D));
      // The step at day t's start knows days before t only: the placements up to and including day t are the same.
      expect(row(after).slice(0, t + 1)).toEqual(row(before).slice(0, t + 1));
      // ...and the change is one the bound reacts to, once seen.
      if (reacts) expect(row(after).slice(t + 1)).not.toEqual(row(before).slice(t + 1));
    },
  );

  it("when a dataset's future changes, then no other dataset's placements before that day change", () => {
    const t = 70;
    const after = placements(f, busyFrom(f, 5, t, 20));
    for (let i = 0; i < f.inp.n; i++) {
      if (i === 5) continue;
      const c = Math.max(0, Math.floor((f.created[i]! - start) / DAY));
      for (let d = c; d <= t; d++) expect([i, d, after[i * D + d]]).toEqual([i, d, before[i * D + d]]);
    }
  });

  it('when a dataset is never read, then its learnt level falls below the prior; when read often, it nears its rate', () => {
    const groups = ['g', 'g', 'g', 'g', 'g'];
    const learner = new ScaleLearner(groups, [1, 10, 100, 1000, 50]);
    const priorMean = learner.posteriorMean(4, 0, 0);
    // The others' levels (its own, 50, left out), on a grid of bins: about their mean, 278.
    expect(priorMean).toBeGreaterThan(250);
    expect(priorMean).toBeLessThan(300);
    expect(learner.posteriorMean(4, 0, 0.5)).toBeLessThan(priorMean / 10);
    // 30 reads where the shape expected 0.3 per unit of level: a level near 100.
    expect(learner.posteriorMean(4, 30, 0.3)).toBeGreaterThan(60);
    expect(learner.posteriorMean(4, 30, 0.3)).toBeLessThan(160);
  });
});

describe("the history learner's key", () => {
  it("when a dataset is read on day t, then the key changes from day t + 1's start, not day t's", () => {
    const reads = new Float64Array(20);
    reads[5] = 1;
    reads[9] = 1;
    const keys = historyKeys(reads, 2, 20);
    const later = Float64Array.from(reads);
    later[12] = 3;
    const changed = historyKeys(later, 2, 20);
    expect(Array.from(changed.subarray(0, 13))).toEqual(Array.from(keys.subarray(0, 13)));
    expect(changed[13]).not.toBe(keys[13]);
    // Before the creation day's end there is no key: no step is taken then.
    expect(keys[2]).toBe(-1);
    expect(keys[3]).not.toBe(-1);
  });
});
