import type { MoveRow } from '../../db';
import { type Clock, type Logger, Signal } from '../../platform';
import type { Faults } from '../faults';
import type { Integrity } from '../integrity';
import type { Keyring, WrappedKey } from '../keyring';
import type { ContentRow, MovePatch, StorageRepository } from '../repository';
import { CLAIM_LOST, Cancelled, ClaimLost, INTERRUPTED } from './errors';
import { type LiveProgress, rateSince, wallNow } from './progress';
import type { SourceRestores } from './restore-wait';
import type { Leftover, MoveStore, Placement, StagedCopy } from './store';

export interface MoveExecutorDeps {
  repo: StorageRepository;
  store: MoveStore;
  keyring: Keyring;
  faults: Faults;
  /** Where a damaged source is reported. */
  integrity: Integrity;
  clock: Clock;
  logger: Logger;
  /** Sources that must be restored before reading: the move waits for the restore (restore-wait.ts). */
  restores?: Pick<SourceRestores, 'check' | 'nextCheck'>;
  /** This instance, as the moves it runs are claimed: their writes are refused once another instance claims them. */
  owner?: string;
  /** Hears each move left to another instance because this one lost its claim (once per move run). */
  claimLost?: (moveId: number) => void;
}

/** How often a running copy's progress is written to its journal row. */
const PERSIST_EVERY_MS = 1_000;

/**
 * One move's steps, each persisted in the journal before the work it names: planned → copying →
 * verifying → switched → done (or failed / cancelled). At every instant the database points at
 * one complete, verified copy: the destination is staged, compared byte for byte with the source
 * as it lands, and published before the row switches; the source is retired only after the switch.
 */
export class MoveExecutor {
  /** Retired sources still being freed; `idle()` waits for them. */
  private readonly removals = new Set<Promise<void>>();

  constructor(private readonly deps: MoveExecutorDeps) {}

  /** Runs `move` to its end; an abort with reason INTERRUPTED plans it again instead of cancelling it. */
  async execute(move: MoveRow, signal: AbortSignal, progress: LiveProgress): Promise<void> {
    const current = await this.deps.repo.content(move.dataset_id);
    if (!current) return this.finish(move.id, 'failed', 'the dataset was deleted');
    if (
      current.tier !== move.from_tier ||
      current.location !== move.from_location ||
      current.object_id !== move.object_id
    ) {
      return this.finish(move.id, 'failed', 'the dataset changed since the move was planned');
    }
    if (!current.object_id) {
      // Catalog-only: the placement record is all there is to move.
      const now = this.deps.clock.now();
      await this.deps.repo.switchMove(
        move,
        { tier: move.to_tier, location: move.to_location },
        { state: 'done', started_at: now, switched_at: now, finished_at: now },
        now,
        this.deps.owner,
      );
      this.log(move).info('move.done', { catalog_only: true });
      return;
    }
    await this.moveObject(move, { ...current, object_id: current.object_id }, signal, progress);
  }

  /** Waits for retired sources still being freed. */
  async idle(): Promise<void> {
    await Promise.all(this.removals);
  }

  private async moveObject(
    move: MoveRow,
    current: ContentRow & { object_id: string },
    signal: AbortSignal,
    progress: LiveProgress,
  ): Promise<void> {
    const { store, faults } = this.deps;
    const from: Placement = { location: move.from_location, tier: move.from_tier };
    const to: Placement = { location: move.to_location, tier: move.to_tier };
    let staged: StagedCopy | undefined;
    try {
      if (await this.waitsForRestore(move, from, current.object_id)) return;
      await faults.reach('move.before_copy', { move_id: move.id });
      // What moves is the encrypted object: its size is the total the progress counts against.
      const total = await store.size(from, current.object_id);
      await this.setMove(move.id, {
        state: 'copying',
        started_at: this.deps.clock.now(),
        bytes_done: 0,
        bytes_total: total,
        error: null,
      });
      // The rate counts from the copy's start, not from the wait for the dataset's lock.
      progress.startedAt = wallNow();
      // The source's chunks are authenticated while it is copied: a copy of damage is no copy.
      const dek = this.deps.keyring.unwrap(current.kek_id!, current.wrapped_key!);
      // Paced by the copy (plaintext is never ahead of the ciphertext it came from), so it reads what the copy just read.
      const copyMoved = new Signal();
      let copyEnded = false;
      // Unless the copy itself checks the source (one read of it, not two).
      const inStage = store.checksSourceInStage?.(from, to) ?? false;
      const plaintextBytes = current.content_bytes ?? 0;
      const sourceDamage = inStage
        ? Promise.resolve(undefined)
        : store.authenticate(
            from,
            current.object_id,
            dek,
            plaintextBytes,
            async (n) => {
              while (progress.bytesDone < n && !copyEnded) await copyMoved.wait(1_000);
            },
            signal,
          );
      sourceDamage.catch(() => undefined); // awaited below, after the copy
      try {
        const source = { dek, plaintextBytes };
        staged = await this.stage(move, from, to, current.object_id, total, signal, progress, source, () =>
          copyMoved.notify(),
        );
      } finally {
        copyEnded = true;
        copyMoved.notify();
      }
      if (signal.aborted) throw new Cancelled();
      await this.checkSource(move, current.object_id, inStage ? staged.sourceDamage : await sourceDamage);
      if (!staged.same) throw new Error('verification failed: the copy differs from the source');
      if ((await staged.plaintextSize()) !== current.content_bytes)
        throw new Error('verification failed: the copy does not hold the recorded size');
      // The copy's label carries the same re-wrapping the switch writes to the row.
      const key = await this.deps.keyring.wrapFor(move.to_location, dek);
      await staged.relabel(dek, (l) => ({
        kekId: key.kekId,
        wrapped: key.wrapped,
        facts: { ...l.facts, name: current.name, location: move.to_location, tier: move.to_tier },
      }));
      await staged.publish();
      await faults.reach('move.after_rename', { move_id: move.id });
      if (signal.aborted) throw new Cancelled();
      await this.switchTo(move, progress, key);
      await faults.reach('move.after_switch', { move_id: move.id });
      const left = await store.retire(from, current.object_id, total);
      await this.finish(move.id, 'done', null);
      this.log(move).info('move.done', {
        bytes: total,
        ms: Math.round(wallNow() - progress.startedAt),
        to: `${move.to_location}/${move.to_tier}`,
      });
      if (left) this.freeLater(left, this.log(move));
    } catch (err) {
      await staged?.discard();
      await this.failed(move, current.object_id, signal, err);
    }
  }

  /**
   * A source that must be restored first has its restore started, and the move goes back to the
   * queue (planned, unclaimed, holding no worker and no bandwidth) until its next look is due.
   */
  private async waitsForRestore(move: MoveRow, from: Placement, objectId: string): Promise<boolean> {
    const { restores } = this.deps;
    if (!restores) return false;
    const r = await restores.check(from, objectId, move.restore_ready_at);
    if (r.ready) {
      if (move.restore_ready_at !== null || move.next_check_at !== null)
        await this.setMove(move.id, { restore_ready_at: null, next_check_at: null });
      return false;
    }
    const nextCheck = restores.nextCheck(r.readyAt);
    await this.setMove(move.id, { restore_ready_at: r.readyAt, next_check_at: nextCheck, claimed_until: null });
    if (move.restore_ready_at === null)
      this.log(move).info('move.waiting_restore', {
        storage_class: r.storageClass,
        ready_at: new Date(r.readyAt).toISOString(),
      });
    return true;
  }

  /** The verified copy, with live progress, the journal's bytes_done every second, and the mid-copy fault point. */
  private stage(
    move: MoveRow,
    from: Placement,
    to: Placement,
    objectId: string,
    total: number,
    signal: AbortSignal,
    progress: LiveProgress,
    source: { dek: Buffer; plaintextBytes: number },
    moved: () => void,
  ): Promise<StagedCopy> {
    const { faults } = this.deps;
    let lastPersist = Date.now();
    let pausedMid = false;
    return this.deps.store.stage(from, to, objectId, {
      moveId: move.id,
      total,
      signal,
      ...source,
      landed: async (pos) => {
        progress.bytesDone = pos;
        moved();
        progress.rate = rateSince(pos, progress.startedAt, wallNow());
        if (Date.now() - lastPersist > PERSIST_EVERY_MS) {
          lastPersist = Date.now();
          await this.setMove(move.id, { bytes_done: pos });
        }
        if (!pausedMid && pos >= total / 2) {
          pausedMid = true;
          await faults.reach('move.mid_copy', { move_id: move.id, bytes_done: pos });
        }
      },
      // 'verifying' covers the tail of the comparison and the flush.
      copied: () => this.setMove(move.id, { state: 'verifying', bytes_done: progress.bytesDone }),
    });
  }

  /** A damaged source is reported, and the move fails leaving it where it is. */
  private async checkSource(move: MoveRow, objectId: string, damage: string | undefined): Promise<void> {
    if (damage === undefined) return;
    await this.deps.integrity.damaged({ datasetId: move.dataset_id, objectId, foundBy: 'move', detail: damage });
    throw new Error(`the source failed verification (${damage}): it was not moved and stays where it is`);
  }

  /** The switch: the data key re-wrapped for the destination's KEK; the bytes are never decrypted. */
  private async switchTo(move: MoveRow, progress: LiveProgress, wrapped: WrappedKey): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.repo.switchMove(
      move,
      { tier: move.to_tier, location: move.to_location, key: { wrapped_key: wrapped.wrapped, kek_id: wrapped.kekId } },
      { state: 'switched', switched_at: now, bytes_done: progress.bytesDone },
      now,
      this.deps.owner,
    );
  }

  /** A move that did not reach "done": rolled back to the source unless it had switched. */
  private async failed(move: MoveRow, objectId: string, signal: AbortSignal, err: unknown): Promise<void> {
    const { repo, store } = this.deps;
    const log = this.log(move);
    if (signal.reason === CLAIM_LOST || err instanceof ClaimLost) {
      // Another instance recovers this move from what the store holds: touching it now would race that.
      log.warn('move.abandoned', { reason: 'another instance took over the claim' });
      this.deps.claimLost?.(move.id);
      return;
    }
    const row = await repo.move(move.id);
    if (row?.state === 'switched') throw err; // past the switch: recovery finishes it
    if (await pointsAtSource(repo, move)) {
      await store.remove({ location: move.to_location, tier: move.to_tier }, objectId).catch(() => false);
    }
    if (err instanceof Cancelled || signal.aborted) {
      if (signal.reason === INTERRUPTED) {
        log.info('move.interrupted', { note: 'shutting down; it is re-planned at the next start' });
        await this.setMove(move.id, { state: 'planned', bytes_done: 0, claimed_until: null });
        return;
      }
      await this.finish(move.id, 'cancelled', 'cancelled');
      log.info('move.cancelled', {});
      return;
    }
    const code = (err as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOSPC' || code === 'EDQUOT'
        ? `the destination ${move.to_location}/${move.to_tier} is full (${code}: no space left for the copy); the source copy is unchanged and still in use`
        : (err as Error).message;
    await this.finish(move.id, 'failed', message);
    log.warn('move.failed', { error: message });
  }

  /** Every write of a running move is conditional on this instance's claim (see StorageRepository.setMove). */
  private setMove(id: number, patch: MovePatch): Promise<void> {
    return this.deps.repo.setMove(id, patch, undefined, this.deps.owner);
  }

  private async finish(id: number, state: 'done' | 'failed' | 'cancelled', error: string | null): Promise<void> {
    await this.setMove(id, { state, error, finished_at: this.deps.clock.now() });
  }

  /** Frees a retired source after the move is done; `idle()` waits for it. */
  private freeLater(left: Leftover, log: Logger): void {
    const p: Promise<void> = left
      .remove()
      .catch((err: unknown) =>
        log.warn('move.source_left', { file: left.name, error: err as Error, note: 'removed at the next start' }),
      )
      .finally(() => this.removals.delete(p));
    this.removals.add(p);
  }

  private log(move: MoveRow): Logger {
    return this.deps.logger.child({ move_id: move.id, dataset_id: move.dataset_id });
  }
}

/** The dataset still points at the move's source placement. */
export async function pointsAtSource(
  repo: StorageRepository,
  move: Pick<MoveRow, 'dataset_id' | 'from_location' | 'from_tier'>,
): Promise<boolean> {
  const r = await repo.content(move.dataset_id);
  return !!r && r.location === move.from_location && r.tier === move.from_tier;
}
