import type { MoveRow } from '../../db';
import type { StoredObjects } from '../stored-objects';
import { needsRestore, objectKey, restoreHours } from '../stores';
import type { Placement } from './store';

/** The restored copy a move asks for is kept this long: room for a queue ahead of it, not just the copy. */
export const MOVE_RESTORE_DAYS = 2;
/** A restoring source is looked at again (one HEAD) this often, and at its expected time. */
export const RESTORE_CHECK_MS = 15 * 60_000;
/** A restore still running this long after it was expected is given up, failing the move. */
export const RESTORE_GRACE_MS = 24 * 3_600_000;

export type SourceReadiness = { ready: true } | { ready: false; storageClass: string; readyAt: number };

/** A restore that could not be started or never finished: the move fails with this as its reason. */
export class RestoreFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreFailed';
  }
}

export interface SourceRestoresDeps {
  objects: StoredObjects;
  /** How often a waiting move looks at its source again (RESTORE_CHECK_MS). */
  checkEveryMs?: number;
}

/**
 * Whether a move's source can be read now. A source in a class that must be restored first
 * (GLACIER, DEEP_ARCHIVE) has its restore started (RestoreObject, Standard retrieval, a copy kept
 * MOVE_RESTORE_DAYS) and the move waits, queued, until HEAD's Restore header says the copy is
 * there. The server-side copy of a tier change needs it as much as a GET does.
 */
export class SourceRestores {
  readonly checkEveryMs: number;

  constructor(private readonly deps: SourceRestoresDeps) {
    this.checkEveryMs = deps.checkEveryMs ?? RESTORE_CHECK_MS;
  }

  /** `expected`: when the restore this move started earlier was expected (null if none was). */
  async check(
    from: Placement,
    objectId: string,
    expected: MoveRow['restore_ready_at'],
    now = Date.now(),
  ): Promise<SourceReadiness> {
    const { objects } = this.deps;
    if (objects.isFile(from.location)) return { ready: true };
    const store = objects.store(from.location);
    const key = objectKey(from.tier, objectId);
    // A missing source is the copy's to report: it fails the move as it always has.
    const head = await store.head(key);
    if (!head || !needsRestore(head)) return { ready: true };
    const storageClass = head.storageClass ?? 'an archive class';
    if (head.restore?.ongoing) {
      if (expected !== null && now > expected + RESTORE_GRACE_MS)
        throw new RestoreFailed(
          `the restore of the source (${storageClass}) expected at ${iso(expected)} had not finished by ${iso(now)}: the move is given up and the object stays where it is`,
        );
      return { ready: false, storageClass, readyAt: expected ?? now + restoreHours(storageClass) * 3_600_000 };
    }
    // No restore yet, or its copy expired before the move got to it: (re)start one.
    if (!store.restore) throw new RestoreFailed(`the source is in ${storageClass} and its store cannot restore it`);
    try {
      const { readyAt } = await store.restore(key, MOVE_RESTORE_DAYS);
      return { ready: false, storageClass, readyAt };
    } catch (err) {
      throw new RestoreFailed(
        `the restore of the source (${storageClass}) could not be started: ${(err as Error).message}; the object stays where it is`,
      );
    }
  }

  /** When a move waiting for a restore expected at `readyAt` looks again: at that time, or sooner. */
  nextCheck(readyAt: number, now = Date.now()): number {
    return Math.max(now + 1_000, Math.min(readyAt, now + this.checkEveryMs));
  }
}

/** "waiting for restore, ready about …" for a planned move waiting on its source's restore, else null. */
export function restoreWait(m: Pick<MoveRow, 'state' | 'restore_ready_at'>): string | null {
  return m.state === 'planned' && m.restore_ready_at !== null
    ? `waiting for restore, ready about ${iso(m.restore_ready_at)}`
    : null;
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
