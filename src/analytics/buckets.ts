import type { BucketResolution } from '../db';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

export const RESOLUTION_MS: Record<BucketResolution, number> = { m: MINUTE, h: HOUR, d: DAY };
export const RESOLUTIONS: BucketResolution[] = ['m', 'h', 'd'];

/** Start of the bucket holding `ts`. Buckets are aligned to UTC, whatever the process's zone. */
export function bucketStart(ts: number, res: BucketResolution): number {
  const size = RESOLUTION_MS[res];
  return Math.floor(ts / size) * size;
}

/** The coarsest stored resolution whose buckets tile buckets of `bucketMs` exactly. */
export function resolutionFor(bucketMs: number): BucketResolution {
  for (const res of ['d', 'h', 'm'] as const) {
    if (bucketMs % RESOLUTION_MS[res] === 0) return res;
  }
  return 'm';
}
