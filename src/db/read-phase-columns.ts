/**
 * dataset_stats' read phases: where in the month and in the week its non-scan reads fell, as sums
 * of unit vectors (migration 023; counted and merged as src/analytics/read-phases.ts says).
 */
export interface ReadPhaseColumns {
  /** Non-scan reads counted into the sums below (reads before migration 023 are not). */
  phase_reads: number;
  /** Σ cos and Σ sin of each read's phase in its UTC calendar month. */
  phase_month_cos: number;
  phase_month_sin: number;
  /** Σ cos and Σ sin of each read's phase in its UTC week. */
  phase_week_cos: number;
  phase_week_sin: number;
  /** The same over pairs of calendar months and over fortnights: a window that comes back every period cancels there. */
  phase_month2_cos: number;
  phase_month2_sin: number;
  phase_week2_cos: number;
  phase_week2_sin: number;
}
