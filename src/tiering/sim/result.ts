/** One policy's costs over a replay, and the read facts (COLD share, p95 first byte) computed from where reads were served. */
import type { CostModel } from '../cost';
import { PLACEMENTS } from '../placements';

export interface PolicyResult {
  policy: string;
  description: string;
  total: number;
  storage: number;
  requests: number;
  retrieval: number;
  egress: number;
  moves_cost: number;
  early_deletion: number;
  moves: number;
  /** Moves to a placement faster to the first byte, and moves that paid early deletion (replayed policies only). */
  promotions?: number;
  early_deletions?: number;
  bytes_moved: number;
  reads: number;
  /** Share of reads (scans included) served from a COLD tier. */
  cold_read_share: number;
  p95_first_byte_ms: number;
}

/** Reads, the share served from COLD, and the p95 first-byte latency, from reads per placement. */
export function readFacts(
  readsByPlacement: Float64Array,
  cost: CostModel,
): { reads: number; cold_read_share: number; p95_first_byte_ms: number } {
  let total = 0;
  let cold = 0;
  PLACEMENTS.forEach((p, i) => {
    total += readsByPlacement[i]!;
    if (p.tier === 'COLD') cold += readsByPlacement[i]!;
  });
  const order = PLACEMENTS.map((_, i) => i).sort((a, b) => cost.firstByteMs[a]! - cost.firstByteMs[b]!);
  let seen = 0;
  let p95 = 0;
  for (const i of order) {
    if (readsByPlacement[i]! === 0) continue;
    seen += readsByPlacement[i]!;
    p95 = cost.firstByteMs[i]!;
    if (seen >= 0.95 * total) break;
  }
  return {
    reads: total,
    cold_read_share: total ? Math.round((cold / total) * 10_000) / 10_000 : 0,
    p95_first_byte_ms: p95,
  };
}

export function money(v: number): number {
  return Math.round(v * 100) / 100;
}
