/**
 * What is wrong right now, as conditions: each has a stable key; an alert opens when its key
 * appears and closes when it is gone. Event kinds (failed moves, integrity failures, gaps in the
 * stream) stay until an operator acknowledges them; state kinds (lag, readiness checks) last
 * as long as the state does.
 */
import type { Health } from '../platform';
import type { AlertRepository } from './repository';

export interface Condition {
  key: string;
  kind: 'event' | 'state';
  severity: 'critical' | 'warning';
  title: string;
  detail: string;
  /** Event kinds: the newest event the condition covers. */
  watermark: number;
}

export interface ConditionSources {
  repo: Pick<AlertRepository, 'covered' | 'failedMoves' | 'integrityFailures'>;
  /** Unacknowledged gaps in the stream (their ids). */
  gaps: () => Promise<{ id: number; topic: string; partition: number; from_offset: number; to_offset: number }[]>;
  /** Events acknowledged but not applied yet; undefined when the bus cannot tell. */
  lag: () => Promise<number | undefined>;
  lagThreshold: number;
  /** /readyz's checks. */
  health: () => Promise<Health>;
}

/** Checks that say nothing an operator can act on here (this process shutting down), or are the alerts' own. */
const IGNORED_CHECKS = new Set(['process', 'alerts']);

export async function gatherConditions(s: ConditionSources): Promise<Condition[]> {
  const out: Condition[] = [];
  const [coveredMoves, coveredIntegrity] = await Promise.all([
    s.repo.covered('moves.failed'),
    s.repo.covered('integrity.failed'),
  ]);
  const [moves, integrity, gaps, lag, health] = await Promise.all([
    s.repo.failedMoves(coveredMoves),
    s.repo.integrityFailures(coveredIntegrity),
    s.gaps(),
    s.lag().catch(() => undefined),
    s.health().catch((err: unknown) => ({ health: (err as Error).message })),
  ]);
  if (moves.since > 0)
    out.push({
      key: 'moves.failed',
      kind: 'event',
      severity: 'warning',
      title: `${moves.since} move${moves.since === 1 ? '' : 's'} failed`,
      detail: `Latest: ${moves.latest ?? 'unknown'}.`,
      watermark: moves.newest,
    });
  if (integrity.since > 0)
    out.push({
      key: 'integrity.failed',
      kind: 'event',
      severity: 'critical',
      title: `${integrity.since} integrity failure${integrity.since === 1 ? '' : 's'}`,
      detail: `Stored bytes failed verification. Latest: ${integrity.latest ?? 'unknown'}.`,
      watermark: integrity.newest,
    });
  if (gaps.length > 0) {
    const lost = gaps.reduce((n, g) => n + (g.to_offset - g.from_offset), 0);
    out.push({
      key: 'stream.gap',
      kind: 'event',
      severity: 'critical',
      title: `${gaps.length} gap${gaps.length === 1 ? '' : 's'} in the stream`,
      detail: `${lost} acknowledged event${lost === 1 ? ' was' : 's were'} gone before they were applied (${gaps
        .slice(0, 3)
        .map((g) => `${g.topic}[${g.partition}] ${g.from_offset}–${g.to_offset}`)
        .join(', ')}${gaps.length > 3 ? ', …' : ''}).`,
      watermark: Math.max(...gaps.map((g) => g.id)),
    });
  }
  if (lag !== undefined && lag > s.lagThreshold)
    out.push({
      key: 'consumer.lag',
      kind: 'state',
      severity: 'warning',
      title: `Consumer lag ${lag} events`,
      detail: `The consumer is more than ${s.lagThreshold} events behind (ALERT_LAG_EVENTS).`,
      watermark: 0,
    });
  for (const [check, value] of Object.entries(health)) {
    if (value === 'ok' || IGNORED_CHECKS.has(check)) continue;
    out.push({
      key: `check:${check}`,
      kind: 'state',
      severity: 'critical',
      title: `Not ready: ${check}`,
      detail: value,
      watermark: 0,
    });
  }
  return out;
}
