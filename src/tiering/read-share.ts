/** How much of a dataset a read touches: the fleet's share of the size, learnt from the statistics. */

/**
 * See usage(): the prior that a dataset's mean bytes per read is shrunk toward, weighted as this
 * many reads. `share` is the share of the size a read is taken to touch until the fleet's own
 * share has been learnt (ReadShareEstimator). 60 reads, not 20: with 5% of reads whole, the mean
 * of a hundred reads of a 5 TB dataset that held no whole read is half its true mean, and three
 * such datasets demoted on it cost cycles 1.035× the best simple rule on seed 3 (issue 13, fourth
 * pass: 60 puts every cell of seeds 1 and 2 at or below 1.000 and seed 3 from 14 cells above to 5).
 */
export const BYTES_PER_READ_PRIOR = { reads: 60, share: 0.25 } as const;
/** The fleet's read share is trusted once this many non-scan reads have been seen. */
export const READ_SHARE_MIN_READS = 1_000;

/**
 * The fleet's bytes per read as a share of the size, learnt from the statistics: Σ bytes read by
 * non-scan reads / Σ (non-scan reads × size). Weighted by reads and size alike, as a wrong guess
 * costs. One pass over the datasets (the scheduler's scan, a replay's step) feeds it.
 */
export class ReadShareEstimator implements ReadShareTotals {
  bytes = 0;
  readSize = 0;
  reads = 0;

  /** One dataset's totals: reads (scans included), scans, bytes read, and its size. */
  add(reads: number, scans: number, bytesRead: number, sizeBytes: number): void {
    const warmReads = Math.max(0, reads - scans);
    if (warmReads === 0 || !(sizeBytes > 0)) return;
    const warmBytes = Math.max(0, bytesRead - scans * sizeBytes);
    // Events may leave out their bytes (they then count 0): a dataset whose reads reported none
    // says nothing about read sizes, and would drag the share toward zero.
    if (warmBytes === 0) return;
    const readSize = warmReads * sizeBytes;
    this.bytes += Math.min(readSize, warmBytes);
    this.readSize += readSize;
    this.reads += warmReads;
  }

  /** The learnt share, or null while fewer than READ_SHARE_MIN_READS reads were seen. */
  value(): number | null {
    return ReadShareEstimator.share(this);
  }

  /** The same from totals summed elsewhere (the scheduler sums them in SQL, see TieringRepository.readShareTotals). */
  static share(t: ReadShareTotals): number | null {
    if (t.reads < READ_SHARE_MIN_READS || !(t.readSize > 0)) return null;
    return Math.min(1, Math.max(1e-6, t.bytes / t.readSize));
  }
}

/** Σ bytes of non-scan reads (each dataset's at most reads × size), Σ non-scan reads × size, Σ non-scan reads. */
export interface ReadShareTotals {
  bytes: number;
  readSize: number;
  reads: number;
}
