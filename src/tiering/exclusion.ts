import type { Decision, PolicyMode } from './decision';
import { placementIndex } from './placements';

/** How long a read waits at a placement, and the reads the forecast expects over the horizon. */
export interface ReadWait {
  firstByteMs: number;
  /** A restore first (GLACIER, DEEP_ARCHIVE): hours, not milliseconds. */
  restoreMs: number;
  reads: number;
}

export function excludedReason(
  i: number,
  cur: number,
  pin: number,
  mode: PolicyMode,
  maxLatency: number | null,
  wait: ReadWait,
): string | null {
  if (i === cur) return null;
  if (pin >= 0 && i !== pin) return 'pinned elsewhere';
  if (mode === 'never-tier') return 'never-tier';
  // Data with reads coming is not sent where each read waits hours for a restore, whatever the latency limit.
  if (i !== pin && wait.restoreMs > 0 && wait.reads >= 1) return 'restore';
  if (maxLatency !== null && wait.firstByteMs > maxLatency) return 'latency';
  return null;
}

export function excludedText(i: number, cur: number, d: Decision, wait: ReadWait): string {
  const r = excludedReason(
    i,
    cur,
    d.policyMode === 'pinned' ? placementIndex(d.to) : -1,
    d.policyMode,
    d.maxLatencyMs,
    wait,
  );
  if (r === 'restore')
    return `a read waits about ${Math.round(wait.restoreMs / 3_600_000)} h for a restore there, and ${Math.round(wait.reads * 10) / 10} reads are expected within ${d.horizonDays} days`;
  return r === 'latency'
    ? `first byte in ${wait.firstByteMs} ms, slower than the ${d.maxLatencyMs} ms required`
    : (r ?? 'ruled out');
}
