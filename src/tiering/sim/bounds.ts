/**
 * The replay's two bounds, from each dataset's use day by day: the offline optimum (planned on
 * what happened) and the informed bound (planned on the generator's expected use, charged with
 * what happened).
 */
import type { CostModel } from '../cost';
import { optimum, type OptimumInput } from './optimum';
import type { PolicyResult } from './result';
import type { ExpectedUse } from './trace';

/** Per dataset and day (index i * days + d): reads, bytes read, writes. */
export class DayUse {
  readonly reads: Float64Array;
  readonly bytes: Float64Array;
  readonly writes: Float64Array;

  constructor(n: number, days: number) {
    this.reads = new Float64Array(n * days);
    this.bytes = new Float64Array(n * days);
    this.writes = new Float64Array(n * days);
  }

  read(at: number, bytes: number): void {
    this.reads[at]!++;
    this.bytes[at]! += bytes;
  }

  write(at: number): void {
    this.writes[at]!++;
  }
}

/** What both bounds need besides the use: the datasets and where they start. */
export type BoundInput = Omit<OptimumInput, 'dayReads' | 'dayBytes' | 'dayWrites' | 'charge'> & { cost: CostModel };

export function offlineOptimum(inp: BoundInput, use: DayUse): PolicyResult {
  return optimum({ ...inp, dayReads: use.reads, dayBytes: use.bytes, dayWrites: use.writes });
}

/**
 * Planned on the expected use where the trace knows it (else on what happened), charged with
 * what happened, so it compares with the policies on this very trace.
 */
export function informedBound(inp: BoundInput, actual: DayUse, expected: ExpectedUse): PolicyResult {
  const D = inp.days;
  const plan = {
    reads: Float64Array.from(actual.reads),
    bytes: Float64Array.from(actual.bytes),
    writes: Float64Array.from(actual.writes),
  };
  for (let i = 0; i < inp.n; i++) {
    if (expected.known[i] !== 1) continue;
    plan.reads.set(expected.reads.subarray(i * D, (i + 1) * D), i * D);
    plan.bytes.set(expected.bytes.subarray(i * D, (i + 1) * D), i * D);
    plan.writes.set(expected.writes.subarray(i * D, (i + 1) * D), i * D);
  }
  return {
    ...optimum({
      ...inp,
      dayReads: plan.reads,
      dayBytes: plan.bytes,
      dayWrites: plan.writes,
      charge: { dayReads: actual.reads, dayBytes: actual.bytes, dayWrites: actual.writes },
    }),
    policy: 'informed',
    description:
      "informed bound: daily placements planned on the generator's true expected use (what a perfect forecast could know), charged with what happened",
  };
}
