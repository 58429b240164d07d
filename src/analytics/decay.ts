/**
 * Exponentially decayed access counts. A sum S referenced at time T stands for
 * Σ 2^(-(T - tᵢ)/H) over the events seen so far; at any later time t it is S·2^(-(t - T)/H),
 * so a dataset cools while idle without any write. Sums merge exactly whatever the order in
 * which events (or batches of them) arrive.
 */

export const HALF_LIVES = {
  '1h': 3_600_000,
  '1d': 86_400_000,
  '1w': 604_800_000,
  '30d': 2_592_000_000,
} as const;
export type HalfLifeName = keyof typeof HALF_LIVES;
export const HALF_LIFE_NAMES = Object.keys(HALF_LIVES) as HalfLifeName[];

export interface DecayedSum {
  at: number;
  value: number;
}

/** The sum seen from time `t` (a sum is never grown by looking at it from the past). */
export function decayTo(s: DecayedSum, t: number, halfLifeMs: number): number {
  if (t <= s.at) return s.value;
  return s.value * Math.pow(2, -(t - s.at) / halfLifeMs);
}

/** Merges two sums; the result is referenced at the later of their times. */
export function mergeDecayed(a: DecayedSum, b: DecayedSum, halfLifeMs: number): DecayedSum {
  const at = Math.max(a.at, b.at);
  return { at, value: decayTo(a, at, halfLifeMs) + decayTo(b, at, halfLifeMs) };
}

/** Events per hour implied by a decayed count: the count divided by its mean lifetime H/ln 2. */
export function ratePerHour(value: number, halfLifeMs: number): number {
  return (value * Math.LN2 * 3_600_000) / halfLifeMs;
}
