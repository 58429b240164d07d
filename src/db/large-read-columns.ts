/**
 * dataset_stats' large reads: non-scan reads of at least half the dataset's size (migration 020;
 * counted and merged as src/analytics/large-reads.ts says).
 */
export interface LargeReadColumns {
  large_reads: number;
  large_bytes: number;
  large_bursts: number;
  /** Time of the first and latest large read (null: none yet). */
  large_first: number | null;
  large_last: number | null;
  /** Σ of squared gaps between bursts, in hours² (with the span, how regular the bursts are). */
  large_gap_sq: number;
}
