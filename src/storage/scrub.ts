import schedule from 'node-schedule';
import { type Fence, isWriteRefused } from '../db';
import { AppError, type Clock, type Logger, type Service, oneAtATime } from '../platform';
import { Integrity } from './integrity';
import type { Keyring } from './keyring';
import type { ContentRow, ScrubRun, StorageRepository } from './repository';
import type { Bandwidth } from './throttle';
import type { StoredObjects } from './stored-objects';
import { authenticateObject } from './verify-object';

export interface ScrubDeps {
  repo: StorageRepository;
  objects: StoredObjects;
  keyring: Keyring;
  /** SCRUB_BANDWIDTH: the scrub's own read budget, apart from the moves'. */
  bandwidth: Bandwidth;
  clock: Clock;
  logger: Logger;
  /** Run on a timer every `intervalMs` (the API and the CLI run it either way). */
  enabled: boolean;
  intervalMs: number;
  /**
   * With several instances on shared stores, a scrub runs on the one holding this (absent: here),
   * and its writes (its report, verified and damaged marks) are fenced by it.
   */
  leadership?: { acquire(): Promise<boolean>; holder(): Promise<string | undefined>; fence: Fence };
}

/** What a scrub found, as the API and the CLI show it. */
export interface ScrubView {
  running: boolean;
  next_run_at: string | null;
  last: {
    id: number;
    trigger: string;
    started_at: string;
    finished_at: string | null;
    objects: number;
    bytes: number;
    damaged: number;
    skipped: number;
    error: string | null;
  } | null;
}

class Stopped extends Error {
  constructor() {
    super('the scrub was stopped');
  }
}

const PAGE = 100;

/**
 * The scrub: every stored object read whole and every chunk authenticated, at most SCRUB_BANDWIDTH
 * bytes per second, on a timer (node-schedule, re-armed after each run) and on demand. Damage is
 * reported like any other (logged, counted, the dataset marked damaged); an object that verifies
 * is noted verified, which also clears an earlier damage mark (the file was restored).
 */
export class ScrubService implements Service {
  readonly name = 'scrub';
  private readonly integrity: Integrity;
  private job: schedule.Job | undefined;
  private nextAt: number | null = null;
  private abort = new AbortController();
  /** Asking for a scrub while one runs joins it. */
  readonly run = oneAtATime((trigger: string) => this.scrub(trigger));

  constructor(private readonly deps: ScrubDeps) {
    this.integrity = new Integrity(deps);
  }

  async start(): Promise<void> {
    this.abort = new AbortController();
    // One instance (no lease): a run left unfinished is this directory's last process's, which
    // died mid-scrub. With a lease, another instance may be scrubbing now: the next scrub started
    // under the lease closes what was abandoned.
    if (!this.deps.leadership) {
      const closed = await this.deps.repo.closeAbandonedScrubs(
        this.deps.clock.now(),
        'the instance stopped before the scrub finished (found at start-up)',
      );
      if (closed > 0) this.deps.logger.warn('scrub.abandoned_closed', { runs: closed });
    }
    this.arm();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.job?.cancel();
    this.job = undefined;
    this.nextAt = null;
    await this.run.idle();
  }

  /** For `/readyz`: the last scrub, whatever it found (damage is reported, not a reason to leave rotation). */
  async details(): Promise<Record<string, unknown>> {
    return { scrub: (await this.view()).last };
  }

  async view(): Promise<ScrubView> {
    const last = await this.deps.repo.lastScrub();
    return {
      running: this.run.running,
      next_run_at: this.nextAt === null ? null : new Date(this.nextAt).toISOString(),
      last: last ? runView(last) : null,
    };
  }

  private arm(): void {
    if (!this.deps.enabled || this.abort.signal.aborted) return;
    this.nextAt = Date.now() + this.deps.intervalMs;
    this.job = schedule.scheduleJob(new Date(this.nextAt), () => {
      this.runIfLeader()
        .catch((err: unknown) => {
          // A refused write was logged by the lease's fence (once).
          if (!isWriteRefused(err)) this.deps.logger.error('scrub.failed', { error: err as Error });
        })
        .finally(() => this.arm());
    });
  }

  /** The timer's scrub: one instance reads the shared stores, not every one of them. */
  private async runIfLeader(): Promise<void> {
    const { leadership, logger } = this.deps;
    if (leadership && !this.run.running && !(await leadership.acquire())) {
      logger.debug('scrub.skipped', { reason: 'another instance holds the scrub lease' });
      return;
    }
    await this.run('timer');
  }

  /** Throws 409 naming the holder when another instance holds the scrub lease (a scrub asked for here would be refused). */
  async mayRun(): Promise<void> {
    const { leadership } = this.deps;
    if (!leadership || this.run.running || (await leadership.acquire())) return;
    const holder = (await leadership.holder()) ?? 'another instance';
    throw AppError.conflict(`the scrub runs on ${holder}: ask that instance, or wait for its scrub`, { holder });
  }

  private async scrub(trigger: string): Promise<void> {
    const { repo, clock, logger } = this.deps;
    const fence = this.deps.leadership?.fence;
    const id = await repo.startScrub(trigger, clock.now(), fence);
    const totals = { objects: 0, bytes: 0, damaged: 0, skipped: 0 };
    logger.info('scrub.started', { scrub_id: id, trigger });
    try {
      for (let after = 0; ;) {
        const page = await repo.contentAfter(after, PAGE);
        if (page.length === 0) break;
        for (const row of page) {
          const outcome = await this.verify(row);
          if (outcome === 'skipped') totals.skipped++;
          else {
            totals.objects++;
            totals.bytes += row.content_bytes ?? 0;
            if (outcome === 'damaged') totals.damaged++;
          }
        }
        after = page.at(-1)!.id;
        await repo.setScrub(id, totals, fence);
      }
      await repo.setScrub(id, { ...totals, finished_at: clock.now() }, fence);
      logger.info('scrub.finished', { scrub_id: id, ...totals });
    } catch (err) {
      // Its report would be refused too: the scrub that holds the lease now reports.
      if (isWriteRefused(err)) throw err;
      const message = err instanceof Stopped ? 'stopped before the end (shutting down)' : (err as Error).message;
      await repo.setScrub(id, { ...totals, finished_at: clock.now(), error: message }, fence);
      if (!(err instanceof Stopped)) throw err;
    }
  }

  /** One object: verified, damaged, or skipped (it moved or was replaced meanwhile). */
  private async verify(row: ContentRow): Promise<'verified' | 'damaged' | 'skipped'> {
    const { repo, objects, keyring, bandwidth, clock } = this.deps;
    if (!row.object_id || row.content_bytes === null || !row.kek_id || !row.wrapped_key) return 'skipped';
    const objectId = row.object_id;
    const signal = this.abort.signal;
    let damage: string | undefined;
    try {
      const dek = keyring.unwrap(row.kek_id, row.wrapped_key);
      damage = await authenticateObject(
        () => objects.open(row.location, row.tier, objectId, dek),
        dek,
        row.content_bytes,
        (_done, chunk) => bandwidth.take(chunk, signal),
        signal,
      );
    } catch (err) {
      if (signal.aborted) throw new Stopped();
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'skipped';
      // An object in a class that needs a restore first: its restore has been asked for.
      if (err instanceof AppError && err.status === 409) return 'skipped';
      throw err;
    }
    if (signal.aborted) throw new Stopped();
    if (!(await stillHolds(repo, row))) return 'skipped';
    const fence = this.deps.leadership?.fence;
    if (damage === undefined) {
      await repo.markVerified(row.id, objectId, clock.now(), fence);
      return 'verified';
    }
    await this.integrity.damaged({ datasetId: row.id, objectId, foundBy: 'scrub', detail: damage }, fence);
    return 'damaged';
  }
}

/** The dataset still points at the object, where it was read. */
async function stillHolds(repo: StorageRepository, row: ContentRow): Promise<boolean> {
  const now = await repo.content(row.id);
  return !!now && now.object_id === row.object_id && now.location === row.location && now.tier === row.tier;
}

function runView(r: ScrubRun): NonNullable<ScrubView['last']> {
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  return {
    id: r.id,
    trigger: r.trigger,
    started_at: iso(r.started_at)!,
    finished_at: iso(r.finished_at),
    objects: r.objects,
    bytes: r.bytes,
    damaged: r.damaged,
    skipped: r.skipped,
    error: r.error,
  };
}
