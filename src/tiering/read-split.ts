/**
 * The fleet's reads per access, the prior a dataset's own read/write split is shrunk toward
 * (readsPerAccess): the mean of the datasets' own splits (reads ÷ accesses, non-scan), and its
 * weight from how much those splits differ beyond what their counts explain (the beta-binomial's
 * intra-class correlation ρ by moments around the pooled split Σ reads ÷ Σ accesses, Kleinman's
 * estimator; the weight is 1/ρ − 1 accesses). The mean over datasets, not the pooled split: the
 * prior is for a dataset, and busy datasets read more than quiet ones (month-end's pooled split
 * is 0.95, its datasets' mean 0.91; the pooled one held month-end demotions right after a close
 * that paid, seed 1 1.0005× the best simple rule).
 * A fleet whose datasets share one split (cycles: writes 15% of reads everywhere) trusts the
 * fleet's over a handful of a dataset's own events; a fleet of unlike data leans on its own.
 * Learnt as the read share is (ReadShareEstimator): the scheduler's scan sums it in SQL
 * (ScanRepository.readSplitTotals), a replay's step here.
 */
import type { ReadSplitPrior } from './read-share';

export { READS_PER_ACCESS_PRIOR, type ReadSplitPrior } from './read-share';

/** The fleet's split is trusted once this many non-scan accesses have been seen. */
export const READ_SPLIT_MIN_ACCESSES = 1_000;
/**
 * The weight's bounds, in accesses: never less than the rule of succession's 2; never more than
 * 100, where a dataset's own hundred accesses still weigh as much as the fleet.
 */
export const READ_SPLIT_WEIGHT = { min: 2, max: 100 } as const;

/** Over the datasets with a non-scan access: Σ reads x, Σ accesses n, their count, Σ x²/n, Σ n² and Σ x/n. */
export interface ReadSplitTotals {
  reads: number;
  accesses: number;
  datasets: number;
  readsSqPerAccess: number;
  accessesSq: number;
  /** Σ x/n: each dataset's own split, summed. */
  splits: number;
}

export class ReadSplitEstimator implements ReadSplitTotals {
  reads = 0;
  accesses = 0;
  datasets = 0;
  readsSqPerAccess = 0;
  accessesSq = 0;
  splits = 0;

  /** One dataset's totals: reads (scans included), scans, writes. */
  add(reads: number, scans: number, writes: number): void {
    const x = Math.max(0, reads - scans);
    const n = x + Math.max(0, writes);
    if (n === 0) return;
    this.reads += x;
    this.accesses += n;
    this.datasets += 1;
    this.readsSqPerAccess += (x * x) / n;
    this.accessesSq += n * n;
    this.splits += x / n;
  }

  /** The learnt prior, or null while fewer than READ_SPLIT_MIN_ACCESSES accesses were seen. */
  value(): ReadSplitPrior | null {
    return ReadSplitEstimator.prior(this);
  }

  /** The same from totals summed elsewhere. */
  static prior(t: ReadSplitTotals): ReadSplitPrior | null {
    if (!(t.accesses >= READ_SPLIT_MIN_ACCESSES)) return null;
    const share = Math.min(1, Math.max(0, t.splits / t.datasets));
    return { share, accesses: splitWeight(t, Math.min(1, Math.max(0, t.reads / t.accesses))) };
  }
}

/**
 * The prior's weight: with p the fleet's share and k datasets, the spread of their splits
 * S = Σ n (x/n − p)² = Σ x²/n − p Σ x is about p(1 − p)(k − 1)(1 + (n₀ − 1)ρ), where
 * n₀ = (Σ n − Σ n² / Σ n) / (k − 1); ρ solved from it. No spread beyond the counts' own (ρ ≤ 0)
 * gives the largest weight.
 */
function splitWeight(t: ReadSplitTotals, p: number): number {
  const { min, max } = READ_SPLIT_WEIGHT;
  const k = t.datasets;
  const binomial = p * (1 - p) * (k - 1);
  const n0 = (t.accesses - t.accessesSq / t.accesses) / (k - 1);
  if (!(k >= 2) || !(binomial > 0) || !(n0 > 1)) return max;
  const spread = t.readsSqPerAccess - p * t.reads;
  const rho = (spread / binomial - 1) / (n0 - 1);
  if (!(rho > 0)) return max;
  return Math.min(max, Math.max(min, 1 / rho - 1));
}
