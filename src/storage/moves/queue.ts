import { ACTIVE_MOVE_STATES, type Fence, type MoveRow, isUniqueViolation } from '../../db';
import { type Clock, AppError, type KeyedLock, type Logger, Signal } from '../../platform';
import type { BatchMove, StorageRepository } from '../repository';
import type { MoveClaims } from './claims';
import { INTERRUPTED } from './errors';
import type { MovePricer } from './pricing';
import { type LiveProgress, wallNow } from './progress';

export interface MoveRequest {
  tier: MoveRow['to_tier'];
  location: MoveRow['to_location'];
  /** manual | policy | pin | seed */
  reason: string;
  detail?: string | null;
  decisionId?: number | null;
}

export interface MoveQueueDeps {
  repo: StorageRepository;
  /** Runs one move to its end (see MoveExecutor). */
  execute(move: MoveRow, signal: AbortSignal, progress: LiveProgress): Promise<void>;
  /** One move per dataset at a time, shared with uploads. */
  locks: KeyedLock<number>;
  clock: Clock;
  logger: Logger;
  /** Moves run at once. */
  concurrency: number;
  /** Which instance runs which move. */
  claims: MoveClaims;
  /**
   * Finishes or rolls back one in-flight move whose owner died (claimed by this instance first);
   * absent where no other instance can own moves (SQLite: start-up recovery covers them).
   */
  recoverOrphan?: (move: MoveRow) => Promise<void>;
  /** Links each move queued without a decision to one (what it saves counts in the pending saving). */
  pricer: MovePricer;
}

/**
 * The queue of planned moves: planning (one or a batch), waiting for and cancelling a move, and
 * the loop that runs up to `concurrency` of them at once.
 */
export class MoveQueue {
  private readonly running = new Map<number, { abort: AbortController; progress: LiveProgress }>();
  private readonly wake = new Signal();
  private loop: Promise<void> | undefined;
  private stopping = false;
  private readonly waiters = new Map<number, Array<(m: MoveRow) => void>>();

  constructor(private readonly deps: MoveQueueDeps) {}

  async enqueue(datasetId: number, req: MoveRequest): Promise<MoveRow> {
    const { repo, clock, logger } = this.deps;
    const row = await repo.content(datasetId);
    if (!row) throw AppError.notFound('dataset not found', { dataset_id: datasetId });
    const active = await repo.activeMove(datasetId);
    if (active) throw AppError.conflict(`dataset is already being moved (move ${active.id})`, { move_id: active.id });
    if (row.tier === req.tier && row.location === req.location) {
      throw AppError.conflict(`dataset is already at ${req.location}/${req.tier}`, { field: 'target' });
    }
    let decisionId = req.decisionId ?? null;
    let logged: number | undefined;
    if (decisionId === null) {
      const at = { from_location: row.location, from_tier: row.tier, to_location: req.location, to_tier: req.tier };
      logged = (await this.deps.pricer.log([{ dataset_id: datasetId, ...at, reason: req.reason }])).get(datasetId);
      decisionId = logged ?? null;
    }
    let id: number;
    try {
      id = await repo.insertMove({
        dataset_id: datasetId,
        from_tier: row.tier,
        from_location: row.location,
        to_tier: req.tier,
        to_location: req.location,
        reason: req.reason,
        reason_detail: req.detail ?? null,
        decision_id: decisionId,
        catalog_only: row.object_id ? 0 : 1,
        object_id: row.object_id,
        bytes_total: row.content_bytes ?? 0,
        created_at: clock.now(),
      });
    } catch (err) {
      if (logged !== undefined) await this.deps.pricer.unlog([logged]);
      // The partial unique index on moves(dataset_id) holds one unfinished move per dataset.
      if (isUniqueViolation(err)) throw AppError.conflict('dataset is already being moved');
      throw err;
    }
    logger.info('move.planned', {
      move_id: id,
      dataset_id: datasetId,
      to: `${req.location}/${req.tier}`,
      reason: req.reason,
    });
    this.wake.notify();
    return (await repo.move(id))!;
  }

  /**
   * Plans many moves at once (the scheduler's batch): one statement per thousand, each planned
   * only if its dataset is still where the caller saw it and not already moving. Returns the
   * moves created by dataset id; the others were skipped. With `fence`, all in one transaction under it.
   */
  async enqueueBatch(items: readonly BatchMove[], fence?: Fence): Promise<Map<number, number>> {
    const { pricer } = this.deps;
    const logged = await pricer.log(items.filter((m) => m.decision_id === null));
    const linked = items.map((m) =>
      m.decision_id === null && logged.has(m.dataset_id) ? { ...m, decision_id: logged.get(m.dataset_id)! } : m,
    );
    let created: { id: number; dataset_id: number }[];
    try {
      created = await this.deps.repo.insertMoves(linked, this.deps.clock.now(), fence);
    } catch (err) {
      await pricer.unlog([...logged.values()]);
      throw err;
    }
    const queued = new Set(created.map((m) => m.dataset_id));
    await pricer.unlog([...logged].filter(([dataset]) => !queued.has(dataset)).map(([, id]) => id));
    if (created.length) {
      this.deps.logger.info('move.planned_batch', { moves: created.length, skipped: items.length - created.length });
      this.wake.notify();
    }
    return new Map(created.map((m) => [m.dataset_id, m.id]));
  }

  /** Resolves when the move reaches done, failed or cancelled. */
  waitFor(moveId: number): Promise<MoveRow> {
    return new Promise((resolve) => {
      const list = this.waiters.get(moveId) ?? [];
      list.push(resolve);
      this.waiters.set(moveId, list);
      // Another instance may run it: the journal says when it ends.
      const poll = async (): Promise<void> => {
        const m = await this.deps.repo.move(moveId).catch(() => undefined);
        if (m && !ACTIVE_MOVE_STATES.includes(m.state)) this.settle(m);
        else if (this.waiters.has(moveId)) setTimeout(() => void poll(), 1_000).unref();
      };
      void poll();
    });
  }

  progress(moveId: number): LiveProgress | undefined {
    return this.running.get(moveId)?.progress;
  }

  async cancel(moveId: number): Promise<MoveRow> {
    const { repo, clock } = this.deps;
    const m = await repo.move(moveId);
    if (!m) throw AppError.notFound('move not found', { move_id: moveId });
    if (this.deps.claims.heldElsewhere(m) && !this.running.has(moveId))
      throw AppError.conflict(`move ${moveId} runs on instance ${m.owner}: cancel it there`, { owner: m.owner });
    if (m.state === 'planned' && !this.running.has(moveId) && (await this.deps.claims.claim(moveId, ['planned']))) {
      await repo.setMove(moveId, {
        state: 'cancelled',
        finished_at: clock.now(),
        error: 'cancelled before it started',
      });
      const done = (await repo.move(moveId))!;
      this.settle(done);
      return done;
    }
    if (m.state === 'copying' || m.state === 'verifying' || m.state === 'planned') {
      this.running.get(moveId)?.abort.abort();
      return this.waitFor(moveId);
    }
    throw AppError.conflict(`move ${moveId} is ${m.state}: only a move that has not switched can be cancelled`, {
      state: m.state,
    });
  }

  start(): void {
    this.stopping = false;
    this.loop = this.schedule();
  }

  /** Moves in flight are interrupted: recovery at the next start rolls them back and re-plans them. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake.notify();
    for (const r of this.running.values()) r.abort.abort(INTERRUPTED);
    await this.loop;
  }

  private settle(m: MoveRow): void {
    const list = this.waiters.get(m.id);
    this.waiters.delete(m.id);
    for (const w of list ?? []) w(m);
  }

  private async schedule(): Promise<void> {
    const { claims, concurrency } = this.deps;
    const inflight = new Set<Promise<void>>();
    let orphansAt = 0;
    while (!this.stopping) {
      if (this.deps.recoverOrphan && Date.now() - orphansAt >= claims.everyMs) {
        orphansAt = Date.now();
        await this.recoverOrphans();
      }
      if (inflight.size < concurrency) {
        const next = await this.claimNext(concurrency * 2);
        if (next) {
          const p: Promise<void> = this.run(next).finally(() => inflight.delete(p));
          inflight.add(p);
          continue;
        }
      }
      await this.wake.wait(inflight.size > 0 ? 200 : Math.min(1_000, claims.everyMs));
    }
    await Promise.all(inflight);
  }

  /** The oldest planned move this instance could claim (another instance may claim any of them first). */
  private async claimNext(limit: number): Promise<MoveRow | undefined> {
    const planned = await this.deps.claims.claimable(limit).catch(() => [] as MoveRow[]);
    for (const m of planned) {
      if (this.running.has(m.id)) continue;
      if (await this.deps.claims.claim(m.id, ['planned']).catch(() => false)) return m;
    }
    return undefined;
  }

  /** Moves whose owner died mid-copy: each claimed, then finished or rolled back as start-up recovery would. */
  private async recoverOrphans(): Promise<void> {
    const { claims, locks, logger } = this.deps;
    const orphans = await claims.orphaned(100).catch(() => [] as MoveRow[]);
    for (const m of orphans) {
      if (this.stopping) return;
      try {
        if (!(await claims.claim(m.id, ['copying', 'verifying', 'switched']))) continue;
        logger.warn('move.orphan', { move_id: m.id, dataset_id: m.dataset_id, owner: m.owner, state: m.state });
        await locks.run(m.dataset_id, () => this.deps.recoverOrphan!(m));
        this.wake.notify();
      } catch (err) {
        logger.error('move.orphan_recovery_failed', { move_id: m.id, error: err as Error });
      }
    }
  }

  private async run(move: MoveRow): Promise<void> {
    const abort = new AbortController();
    const progress: LiveProgress = { bytesDone: 0, startedAt: wallNow(), rate: 0 };
    this.running.set(move.id, { abort, progress });
    this.deps.claims.hold(move.id, abort);
    try {
      await this.deps.locks.run(move.dataset_id, () => this.deps.execute(move, abort.signal, progress));
    } catch (err) {
      // Past the switch, or the journal itself failed: the row stays active and the next start's recovery finishes it.
      this.deps.logger.error('move.stuck', { move_id: move.id, dataset_id: move.dataset_id, error: err as Error });
    } finally {
      this.deps.claims.drop(move.id);
      this.running.delete(move.id);
      const final = await this.deps.repo.move(move.id).catch(() => undefined);
      if (final && !ACTIVE_MOVE_STATES.includes(final.state)) this.settle(final);
      this.wake.notify();
    }
  }
}
