/**
 * What the re-planned bound's perfect learner knows of a dataset's future at a day's start, from
 * the dataset's own past only (replanned.ts says the whole rule):
 *
 * - ScaleLearner, for datasets whose expected use the generator knows (Poisson processes): the
 *   shape of that use over time is the workload's and known; its level is not. The level's prior
 *   is the distribution of the other datasets' levels in the same group; its posterior, given the
 *   reads the dataset has had and the reads the shape expected of it so far, is computed on a grid.
 * - HistoryLearner, for datasets whose future depends on their past (read-once): the mean use, day
 *   by day, of the other datasets of its group that had the same history (reads so far, days since
 *   the last read) at any of their days.
 */

/** Datasets learn from others of the same group: the same name prefix, created before or during the trace. */
export function groupKeys(names: readonly string[], createdAt: ArrayLike<number>, start: number): string[] {
  return names.map((n, i) => `${n.replace(/-\d+$/, '')}/${createdAt[i]! < start ? 'before' : 'during'}`);
}

const BINS = 160;

/** A group's levels as a histogram of log-level bins. */
interface LevelPrior {
  lo: number;
  width: number;
  count: Float64Array;
  level: Float64Array;
}

export class ScaleLearner {
  private readonly priors = new Map<string, LevelPrior>();
  private readonly lw = new Float64Array(BINS);

  /** levels[i]: the dataset's level (its expected reads over the trace), NaN where unknown or zero. */
  constructor(
    private readonly groups: readonly string[],
    private readonly levels: ArrayLike<number>,
  ) {
    const byGroup = new Map<string, number[]>();
    for (let i = 0; i < groups.length; i++) {
      const v = levels[i]!;
      if (!(v > 0)) continue;
      const g = byGroup.get(groups[i]!) ?? [];
      g.push(Math.log(v));
      byGroup.set(groups[i]!, g);
    }
    for (const [g, logs] of byGroup) {
      let lo = Infinity;
      let hi = -Infinity;
      for (const x of logs) {
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
      }
      const width = Math.max(hi - lo, 1e-9) / BINS;
      const count = new Float64Array(BINS);
      const level = new Float64Array(BINS);
      for (let k = 0; k < BINS; k++) level[k] = Math.exp(lo + (k + 0.5) * width);
      for (const x of logs) count[this.bin(lo, width, x)]!++;
      this.priors.set(g, { lo, width, count, level });
    }
  }

  private bin(lo: number, width: number, x: number): number {
    return Math.min(BINS - 1, Math.max(0, Math.floor((x - lo) / width)));
  }

  /**
   * The posterior mean of dataset i's level, having seen `reads` where the shape expected `exposure`
   * reads per unit of level. Its own level is left out of the prior: the dataset knows only the others.
   */
  posteriorMean(i: number, reads: number, exposure: number): number {
    const prior = this.priors.get(this.groups[i]!);
    const own = this.levels[i]! > 0 && prior ? this.bin(prior.lo, prior.width, Math.log(this.levels[i]!)) : -1;
    let total = 0;
    if (prior) for (let k = 0; k < BINS; k++) total += prior.count[k]! - (k === own ? 1 : 0);
    if (!prior || total <= 0) return exposure > 0 ? (reads + 0.5) / exposure : 0; // no others: Jeffreys alone
    const { count, level } = prior;
    const lw = this.lw;
    let top = -Infinity;
    for (let k = 0; k < BINS; k++) {
      const c = count[k]! - (k === own ? 1 : 0);
      lw[k] = c > 0 ? Math.log(c) + reads * Math.log(level[k]!) - level[k]! * exposure : -Infinity;
      if (lw[k]! > top) top = lw[k]!;
    }
    let w = 0;
    let m = 0;
    for (let k = 0; k < BINS; k++) {
      const e = Math.exp(lw[k]! - top);
      w += e;
      m += e * level[k]!;
    }
    return m / w;
  }
}

/** Days of history told apart: reads so far (0, 1, 2 or more) × days since the last (0..GAP, capped). */
const GAP = 7;
const KEYS = 3 * (GAP + 1);
/** Days ahead the history learner forecasts; beyond, the last of them repeats. */
export const HISTORY_HORIZON = 8;

/** One dataset's per-day use over the trace (length D). */
export interface DaySeries {
  reads: ArrayLike<number>;
  bytes: ArrayLike<number>;
  writes: ArrayLike<number>;
}

/** The history key at day t's start from days c..t-1: what the learner conditions on. */
export function historyKeys(reads: ArrayLike<number>, c: number, D: number): Int16Array {
  const keys = new Int16Array(D).fill(-1);
  let seen = 0;
  let last = c;
  for (let t = c + 1; t < D; t++) {
    if (reads[t - 1]! > 0) {
      seen += reads[t - 1]!;
      last = t - 1;
    }
    keys[t] = Math.min(seen, 2) * (GAP + 1) + Math.min(t - last, GAP);
  }
  return keys;
}

/** Sums of use h days after each (key, day) pair, and how many pairs: per group. */
export class HistoryStats {
  readonly sum = new Float64Array(KEYS * HISTORY_HORIZON * 3);
  readonly n = new Float64Array(KEYS * HISTORY_HORIZON);

  /** Bytes are kept as shares of the dataset's size: a learner scales the others' reads to its own size. */
  add(keys: Int16Array, use: DaySeries, size: number, D: number, sign: number): void {
    for (let t = 0; t < D; t++) {
      const k = keys[t]!;
      if (k < 0) continue;
      for (let h = 0; h < HISTORY_HORIZON && t + h < D; h++) {
        const j = k * HISTORY_HORIZON + h;
        this.n[j]! += sign;
        this.sum[3 * j]! += sign * use.reads[t + h]!;
        this.sum[3 * j + 1]! += (sign * use.bytes[t + h]!) / size;
        this.sum[3 * j + 2]! += sign * use.writes[t + h]!;
      }
    }
  }
}

export class HistoryLearner {
  private readonly stats = new Map<string, HistoryStats>();

  /** Learns from every dataset in `members` (their whole use: they are the others). */
  constructor(
    private readonly groups: readonly string[],
    members: readonly number[],
    series: (i: number) => { use: DaySeries; c: number; size: number },
    private readonly D: number,
  ) {
    for (const i of members) {
      const { use, c, size } = series(i);
      const g = groups[i]!;
      if (!this.stats.has(g)) this.stats.set(g, new HistoryStats());
      this.stats.get(g)!.add(historyKeys(use.reads, c, D), use, size, D, 1);
    }
  }

  /**
   * The others' sums (dataset i's own use taken out, `own` being its contribution) fill `out` from day t on:
   * the mean use h days after a day with key `key`. Days ahead with no example plan nothing.
   */
  forecast(
    i: number,
    own: HistoryStats,
    size: number,
    key: number,
    t: number,
    out: DaySeries & { reads: Float64Array },
  ): void {
    const all = this.stats.get(this.groups[i]!)!;
    const bytes = out.bytes as Float64Array;
    const writes = out.writes as Float64Array;
    for (let d = t; d < this.D; d++) {
      const h = Math.min(d - t, HISTORY_HORIZON - 1);
      const j = key * HISTORY_HORIZON + h;
      const n = all.n[j]! - own.n[j]!;
      out.reads[d] = n > 0 ? (all.sum[3 * j]! - own.sum[3 * j]!) / n : 0;
      bytes[d] = n > 0 ? ((all.sum[3 * j + 1]! - own.sum[3 * j + 1]!) / n) * size : 0;
      writes[d] = n > 0 ? (all.sum[3 * j + 2]! - own.sum[3 * j + 2]!) / n : 0;
    }
  }

  /** Dataset i's own contribution, to leave out of its forecasts. */
  own(keys: Int16Array, use: DaySeries, size: number): HistoryStats {
    const s = new HistoryStats();
    s.add(keys, use, size, this.D, 1);
    return s;
  }
}
