import fsp from 'node:fs/promises';
import path from 'node:path';
import { ACTIVE_MOVE_STATES, type Location, type MoveRow, type Tier, type Db } from '../db';
import { type Clock, AppError, Signal, type KeyedLock, type Logger } from '../platform';
import { plaintextSizeOfFile } from './crypto';
import type { Faults } from './faults';
import type { Keyring } from './keyring';
import { type BatchMove, StorageRepository, isActiveMoveConflict } from './repository';
import { SyncPacer } from './sync-pacer';
import type { Bandwidth } from './throttle';
import { type TierTree, exists, fsyncDir, removeIfExists } from './tier-tree';

export interface MoveRequest {
  tier: Tier;
  location: Location;
  /** manual | policy | pin | seed */
  reason: string;
  detail?: string | null;
  decisionId?: number | null;
}

export interface MoveProgress {
  bytesDone: number;
  startedAt: number;
  rate: number;
}

class Cancelled extends Error {
  constructor() {
    super('cancelled');
  }
}

/**
 * The journaled move of a dataset between placements. States, each persisted before the work
 * it names: planned → copying → verifying → switched → done (or failed / cancelled). At every
 * instant the database points at one complete, verified copy: the destination is written under
 * a temporary name, fsynced, read back and compared byte for byte with the source (as it lands,
 * overlapping the copy), and only once all of that has finished renamed and its directory
 * fsynced before the row switches; the source is removed only after the switch (a large one
 * renamed to a temporary name before "done" and unlinked just after it).
 */
export class MoveService {
  readonly name = 'moves';
  private readonly repo: StorageRepository;
  private readonly running = new Map<number, { abort: AbortController; progress: MoveProgress }>();
  private readonly wake = new Signal();
  private loop: Promise<void> | undefined;
  private stopping = false;
  private readonly waiters = new Map<number, Array<(m: MoveRow) => void>>();
  /** Sources being unlinked after their move was done. */
  private readonly removals = new Set<Promise<void>>();

  constructor(
    private readonly db: Db,
    private readonly tree: TierTree,
    private readonly keyring: Keyring,
    private readonly locks: KeyedLock<number>,
    private readonly bandwidth: Bandwidth,
    private readonly faults: Faults,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly concurrency: number,
  ) {
    this.repo = new StorageRepository(db);
  }

  async enqueue(datasetId: number, req: MoveRequest): Promise<MoveRow> {
    const row = await this.repo.content(datasetId);
    if (!row) throw AppError.notFound('dataset not found', { dataset_id: datasetId });
    const active = await this.repo.activeMove(datasetId);
    if (active) throw AppError.conflict(`dataset is already being moved (move ${active.id})`, { move_id: active.id });
    if (row.tier === req.tier && row.location === req.location) {
      throw AppError.conflict(`dataset is already at ${req.location}/${req.tier}`, { field: 'target' });
    }
    let id: number;
    try {
      id = await this.repo.insertMove({
        dataset_id: datasetId,
        from_tier: row.tier,
        from_location: row.location,
        to_tier: req.tier,
        to_location: req.location,
        reason: req.reason,
        reason_detail: req.detail ?? null,
        decision_id: req.decisionId ?? null,
        catalog_only: row.object_id ? 0 : 1,
        object_id: row.object_id,
        bytes_total: row.content_bytes ?? 0,
        created_at: this.clock.now(),
      });
    } catch (err) {
      if (isActiveMoveConflict(err)) throw AppError.conflict('dataset is already being moved');
      throw err;
    }
    this.logger.info('move.planned', {
      move_id: id,
      dataset_id: datasetId,
      to: `${req.location}/${req.tier}`,
      reason: req.reason,
    });
    this.wake.notify();
    return (await this.repo.move(id))!;
  }

  /**
   * Plans many moves at once (the scheduler's batch): one statement per thousand, each planned
   * only if its dataset is still where the caller saw it and not already moving. Returns the
   * moves created by dataset id; the others were skipped.
   */
  async enqueueBatch(items: readonly BatchMove[]): Promise<Map<number, number>> {
    const created = await this.repo.insertMoves(items, this.clock.now());
    if (created.length) {
      this.logger.info('move.planned_batch', { moves: created.length, skipped: items.length - created.length });
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
      void this.repo.move(moveId).then((m) => {
        if (m && !ACTIVE_MOVE_STATES.includes(m.state)) this.settle(m);
      });
    });
  }

  private settle(m: MoveRow): void {
    const list = this.waiters.get(m.id);
    this.waiters.delete(m.id);
    for (const w of list ?? []) w(m);
  }

  progress(moveId: number): MoveProgress | undefined {
    return this.running.get(moveId)?.progress;
  }

  async cancel(moveId: number): Promise<MoveRow> {
    const m = await this.repo.move(moveId);
    if (!m) throw AppError.notFound('move not found', { move_id: moveId });
    if (m.state === 'planned' && !this.running.has(moveId)) {
      await this.repo.setMove(moveId, {
        state: 'cancelled',
        finished_at: this.clock.now(),
        error: 'cancelled before it started',
      });
      const done = (await this.repo.move(moveId))!;
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

  async start(): Promise<void> {
    this.stopping = false;
    this.loop = this.schedule();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake.notify();
    // Moves in flight are interrupted: recovery at the next start rolls them back and re-plans them.
    for (const r of this.running.values()) r.abort.abort();
    await this.loop;
    await Promise.all(this.removals);
  }

  /** Unlinks a moved source that has left its name; `stop()` waits for it. */
  private removeLater(file: string, log: Logger): void {
    const p: Promise<void> = removeIfExists(file)
      .then(() => fsyncDir(path.dirname(file)))
      .catch((err: unknown) =>
        log.warn('move.source_left', {
          file: path.relative(this.tree.root, file),
          error: err as Error,
          note: 'removed at the next start',
        }),
      )
      .finally(() => this.removals.delete(p));
    this.removals.add(p);
  }

  private async schedule(): Promise<void> {
    const inflight = new Set<Promise<void>>();
    while (!this.stopping) {
      if (inflight.size < this.concurrency) {
        const planned = await this.repo.movesIn(['planned'], this.concurrency * 2).catch(() => [] as MoveRow[]);
        const next = planned.find((m) => !this.running.has(m.id));
        if (next) {
          const p: Promise<void> = this.run(next).finally(() => inflight.delete(p));
          inflight.add(p);
          continue;
        }
      }
      await this.wake.wait(inflight.size > 0 ? 200 : 1_000);
    }
    await Promise.all(inflight);
  }

  private async run(move: MoveRow): Promise<void> {
    const abort = new AbortController();
    const progress: MoveProgress = { bytesDone: 0, startedAt: this.clock.now(), rate: 0 };
    this.running.set(move.id, { abort, progress });
    try {
      await this.locks.run(move.dataset_id, () => this.execute(move, abort.signal, progress));
    } finally {
      this.running.delete(move.id);
      const final = await this.repo.move(move.id).catch(() => undefined);
      if (final && !ACTIVE_MOVE_STATES.includes(final.state)) this.settle(final);
      this.wake.notify();
    }
  }

  private async execute(move: MoveRow, signal: AbortSignal, progress: MoveProgress): Promise<void> {
    const log = this.logger.child({ move_id: move.id, dataset_id: move.dataset_id });
    const current = await this.repo.content(move.dataset_id);
    if (!current) {
      await this.finish(move.id, 'failed', 'the dataset was deleted');
      return;
    }
    if (
      current.tier !== move.from_tier ||
      current.location !== move.from_location ||
      current.object_id !== move.object_id
    ) {
      await this.finish(move.id, 'failed', 'the dataset changed since the move was planned');
      return;
    }
    if (!current.object_id) {
      // Catalog-only: the placement record is all there is to move.
      await this.db.transaction().execute(async (trx) => {
        const now = this.clock.now();
        await trx
          .updateTable('datasets')
          .set({ tier: move.to_tier, location: move.to_location, last_storage_migration: now, updated_at: now })
          .where('id', '=', move.dataset_id)
          .execute();
        await this.repo.setMove(move.id, { state: 'done', started_at: now, switched_at: now, finished_at: now }, trx);
      });
      log.info('move.done', { catalog_only: true });
      return;
    }

    const objectId = current.object_id;
    const src = this.tree.objectPath(move.from_location, move.from_tier, objectId);
    const dest = this.tree.objectPath(move.to_location, move.to_tier, objectId);
    const tmp = this.tree.tmpPath(move.to_location, move.to_tier, objectId);
    try {
      await this.faults.reach('move.before_copy', { move_id: move.id });
      // What moves is the encrypted object: its size is the total the progress counts against.
      const total = (await fsp.stat(src)).size;
      await this.repo.setMove(move.id, {
        state: 'copying',
        started_at: this.clock.now(),
        bytes_done: 0,
        bytes_total: total,
        error: null,
      });
      // The copy is verified as it lands (see copyVerified); 'verifying' covers the tail of that and the fsync.
      const same = await this.copyVerified(src, tmp, total, signal, progress, move.id, () =>
        this.repo.setMove(move.id, { state: 'verifying', bytes_done: progress.bytesDone }),
      );
      if (signal.aborted) throw new Cancelled();
      if (!same) throw new Error('verification failed: the copy differs from the source');
      if ((await plaintextSizeOfFile(tmp)) !== current.content_bytes)
        throw new Error('verification failed: the copy does not hold the recorded size');

      await fsp.rename(tmp, dest);
      await fsyncDir(path.dirname(dest));
      await this.faults.reach('move.after_rename', { move_id: move.id });
      if (signal.aborted) throw new Cancelled();

      // The switch: the data key is re-wrapped for the destination's KEK; the bytes never decrypted.
      const dek = this.keyring.unwrap(current.kek_id!, current.wrapped_key!);
      const wrapped = await this.keyring.wrapFor(move.to_location, dek);
      await this.db.transaction().execute(async (trx) => {
        const now = this.clock.now();
        await trx
          .updateTable('datasets')
          .set({
            tier: move.to_tier,
            location: move.to_location,
            wrapped_key: wrapped.wrapped,
            kek_id: wrapped.kekId,
            last_storage_migration: now,
            updated_at: now,
          })
          .where('id', '=', move.dataset_id)
          .execute();
        await this.repo.setMove(move.id, { state: 'switched', switched_at: now, bytes_done: progress.bytesDone }, trx);
      });
      await this.faults.reach('move.after_switch', { move_id: move.id });

      // A large source leaves its name at once and is unlinked just after the move is done:
      // unlinking frees its blocks and cached pages (~0.2 s per GiB here), which nothing needs to
      // wait for. A crash in between leaves a temporary file, which recovery removes.
      const doomed =
        total >= DEFERRED_REMOVAL_BYTES ? this.tree.tmpPath(move.from_location, move.from_tier, objectId) : undefined;
      const left = doomed ? await renameIfExists(src, doomed) : (await removeIfExists(src), undefined);
      await fsyncDir(path.dirname(src));
      await this.finish(move.id, 'done', null);
      log.info('move.done', {
        bytes: total,
        ms: this.clock.now() - progress.startedAt,
        to: `${move.to_location}/${move.to_tier}`,
      });
      if (left) this.removeLater(left, log);
    } catch (err) {
      await removeIfExists(tmp).catch(() => false);
      const row = await this.repo.move(move.id);
      if (row?.state === 'switched') throw err; // past the switch: recovery finishes it
      if (await this.pointsAtSource(move.dataset_id, move)) await removeIfExists(dest).catch(() => false);
      if (err instanceof Cancelled || signal.aborted) {
        if (this.stopping) {
          log.info('move.interrupted', { note: 'shutting down; it is re-planned at the next start' });
          await this.repo.setMove(move.id, { state: 'planned', bytes_done: 0 });
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
  }

  private async pointsAtSource(datasetId: number, move: MoveRow): Promise<boolean> {
    const r = await this.repo.content(datasetId);
    return !!r && r.location === move.from_location && r.tier === move.from_tier;
  }

  private async finish(id: number, state: 'done' | 'failed' | 'cancelled', error: string | null): Promise<void> {
    await this.repo.setMove(id, { state, error, finished_at: this.clock.now() });
  }

  /**
   * Copies the ciphertext as it is (never decrypted) and verifies the copy as it lands: a
   * verifier trails the copy, reading back each block of the destination once it is written and
   * comparing it with the source, so the copy is read back while the rest is still being
   * written instead of after it. Unthrottled, the copy is one fs.copyFile (the kernel's
   * copy_file_range: one memory copy, no user-space buffers); a cancel then takes effect when
   * it returns (about a second per GiB here). Throttled, blocks of about 1/8 s of budget, with
   * background syncs as the file grows. Resolves once the copy is fsynced and every byte of it
   * compared: true if all matched. `copied` is awaited when the last byte is written.
   */
  private async copyVerified(
    src: string,
    tmp: string,
    total: number,
    signal: AbortSignal,
    progress: MoveProgress,
    moveId: number,
    copied: () => Promise<void>,
  ): Promise<boolean> {
    const output = await fsp.open(tmp, 'wx', 0o600);
    const landing = new Landing();
    const verifier = verifyAsItLands(src, tmp, total, landing, signal, (at, len) =>
      this.faults.reach('move.before_verify', { move_id: moveId, file: tmp, at: at + (len >> 1) }),
    );
    // Settled below in every path; this only keeps an early rejection from being "unhandled".
    verifier.catch(() => undefined);
    let lastPersist = Date.now();
    let pausedMid = false;
    const landed = async (pos: number): Promise<void> => {
      landing.advance(pos);
      progress.bytesDone = pos;
      const elapsed = (this.clock.now() - progress.startedAt) / 1000;
      progress.rate = elapsed > 0 ? pos / elapsed : 0;
      if (Date.now() - lastPersist > 1_000) {
        lastPersist = Date.now();
        await this.repo.setMove(moveId, { bytes_done: pos });
      }
      if (!pausedMid && pos >= total / 2) {
        pausedMid = true;
        await this.faults.reach('move.mid_copy', { move_id: moveId, bytes_done: pos });
      }
    };
    try {
      if (this.bandwidth.limited) await this.copyBlocks(src, output, total, signal, landing, landed);
      else await copyWhole(src, tmp, output, total, landed);
      landing.end();
      if (signal.aborted) throw new Cancelled();
      await copied();
      // The fsync and the verifier's tail run together; the rename waits for both.
      const [same] = await Promise.all([verifier, output.sync()]);
      return same;
    } catch (err) {
      landing.end();
      await verifier.catch(() => undefined);
      throw err;
    } finally {
      await output.close().catch(() => undefined);
    }
  }

  /**
   * The throttled copy: positional reads and writes in blocks of about 1/8 s of budget (progress
   * stays live and the rate smooth), the next block read while this one is written, the file
   * synced in the background as it grows so the final fsync waits for a short tail.
   */
  private async copyBlocks(
    src: string,
    output: fsp.FileHandle,
    total: number,
    signal: AbortSignal,
    landing: Landing,
    landed: (pos: number) => Promise<void>,
  ): Promise<void> {
    const size = this.bandwidth.blockSize(COPY_BLOCK);
    const buffers = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
    const input = await fsp.open(src, 'r');
    const pacer = new SyncPacer(output);
    let reading: Promise<number> | undefined;
    const readAhead = (buf: Buffer, at: number): Promise<number> => {
      const p = input.read(buf, 0, Math.min(buf.length, total - at), at).then((r) => r.bytesRead);
      p.catch(() => undefined); // awaited below, or dropped with the copy
      return p;
    };
    try {
      let pos = 0;
      let turn = 0;
      if (total > 0) reading = readAhead(buffers[0]!, 0);
      // A verifier that found a difference has ended the landing: the rest would be copied for nothing.
      while (pos < total && !landing.ended) {
        if (signal.aborted) throw new Cancelled();
        const buf = buffers[turn]!;
        const bytesRead = await reading!;
        if (bytesRead === 0) throw new Error(`the source ended at ${pos} of ${total} bytes`);
        turn ^= 1;
        reading = pos + bytesRead < total ? readAhead(buffers[turn]!, pos + bytesRead) : undefined;
        await this.bandwidth.take(bytesRead, signal);
        // A write can land short (a disk filling up does that before it says ENOSPC): the rest is
        // written again, so a full disk fails with ENOSPC rather than leave a hole to be found later.
        for (let done = 0; done < bytesRead;) {
          const { bytesWritten } = await output.write(buf, done, bytesRead - done, pos + done);
          if (bytesWritten === 0) throw new Error(`the destination took no bytes at ${pos + done} of ${total}`);
          done += bytesWritten;
        }
        pos += bytesRead;
        pacer.progress(pos);
        await landed(pos);
      }
      await pacer.finish();
    } catch (err) {
      await reading?.catch(() => undefined);
      await pacer.settle();
      throw err;
    } finally {
      await input.close().catch(() => undefined);
    }
  }

  /**
   * Start-up recovery, before the queue runs: interrupted moves that had not switched are rolled
   * back (the partial copy removed) and planned again; switched ones are finished (the source
   * removed). Then any temporary or unreferenced file in the tier tree is removed.
   */
  async recover(): Promise<void> {
    for (const m of await this.repo.movesIn(['copying', 'verifying', 'switched'], 1_000_000)) {
      const log = this.logger.child({ move_id: m.id, dataset_id: m.dataset_id });
      if (m.catalog_only || !m.object_id) {
        await this.repo.setMove(m.id, { state: 'planned' });
        continue;
      }
      const src = this.tree.objectPath(m.from_location, m.from_tier, m.object_id);
      const dest = this.tree.objectPath(m.to_location, m.to_tier, m.object_id);
      if (m.state === 'switched') {
        const removed = await removeIfExists(src);
        if (removed) await fsyncDir(path.dirname(src));
        await this.finish(m.id, 'done', null);
        log.warn('move.recovered', { was: m.state, action: 'finished: source removed after the switch' });
      } else {
        const points = await this.pointsAtSource(m.dataset_id, m);
        if (points && (await exists(dest))) {
          await removeIfExists(dest);
          await fsyncDir(path.dirname(dest));
        }
        await this.repo.setMove(m.id, {
          state: 'planned',
          bytes_done: 0,
          error: `interrupted while ${m.state}; rolled back and planned again`,
        });
        log.warn('move.recovered', { was: m.state, action: 'rolled back (partial copy removed) and planned again' });
      }
    }
    const referenced = await this.repo.referencedObjects();
    for (const f of await this.tree.list()) {
      if (f.tmp || !f.objectId || !referenced.has(`${f.location}/${f.tier}/${f.objectId}`)) {
        await removeIfExists(f.path);
        this.logger.warn('storage.orphan_removed', {
          file: path.relative(this.tree.root, f.path),
          kind: f.tmp ? 'temporary' : 'unreferenced',
        });
      }
    }
  }
}

/** A moved source this large is unlinked after the move is done rather than before (see execute). */
const DEFERRED_REMOVAL_BYTES = 64 * 1024 * 1024;

/** `from` renamed to `to`; undefined if `from` did not exist. */
async function renameIfExists(from: string, to: string): Promise<string | undefined> {
  try {
    await fsp.rename(from, to);
    return to;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Copy block size (throttled copies use smaller ones). */
const COPY_BLOCK = 4 * 1024 * 1024;
/** Compare block size: two of them, small enough that a block read back is compared while in cache (~25% less CPU than 4 MiB, measured). */
const VERIFY_BLOCK = 1024 * 1024;
/** How often the size of a copy made by the kernel is looked at (progress, and what the verifier may read). */
const LANDING_POLL_MS = 10;

/** How far a copy has got: what a verifier may read, and a way to wait for more. */
class Landing {
  bytes = 0;
  /** No more bytes will land: the copy finished or failed, or the verifier gave up. */
  ended = false;
  private readonly moved = new Signal();

  advance(bytes: number): void {
    this.bytes = bytes;
    this.moved.notify();
  }

  end(): void {
    this.ended = true;
    this.moved.notify();
  }

  /** Resolves once more than `have` bytes have landed, or the landing has ended. */
  async beyond(have: number): Promise<void> {
    while (this.bytes <= have && !this.ended) await this.moved.wait(1_000);
  }
}

/**
 * The whole file in one fs.copyFile into `tmp` (already created and open as `output`; copyFile
 * truncates it and writes from the start). Its size is looked at while the kernel copies, so
 * progress stays live and the verifier can follow.
 */
async function copyWhole(
  src: string,
  tmp: string,
  output: fsp.FileHandle,
  total: number,
  landed: (pos: number) => Promise<void>,
): Promise<void> {
  let done = false;
  const finished = new Signal();
  const copy = fsp.copyFile(src, tmp).finally(() => {
    done = true;
    finished.notify();
  });
  copy.catch(() => undefined); // awaited below
  let seen = 0;
  while (!done) {
    const { size } = await output.stat();
    // Never past the source's size: a file longer than that is for the verifier to find.
    if (size > seen) await landed((seen = Math.min(size, total)));
    await finished.wait(LANDING_POLL_MS);
  }
  await copy;
  const { size } = await output.stat();
  await landed(Math.min(size, total));
}

/**
 * Compares the copy with the source block by block, each block once the copy has written it.
 * Resolves false at the first difference (ending the landing, so a block copy stops), or if the
 * copy ends short of `size` or longer; true once every byte matched. `before(at, len)` is awaited
 * before the block [at, at + len) is read.
 */
async function verifyAsItLands(
  src: string,
  copy: string,
  size: number,
  landing: Landing,
  signal: AbortSignal,
  before: (at: number, len: number) => Promise<void>,
): Promise<boolean> {
  const [fa, fb] = await Promise.all([fsp.open(src, 'r'), fsp.open(copy, 'r')]);
  try {
    const [ba, bb] = [
      Buffer.allocUnsafe(Math.min(VERIFY_BLOCK, size)),
      Buffer.allocUnsafe(Math.min(VERIFY_BLOCK, size)),
    ];
    for (let pos = 0; pos < size; pos += VERIFY_BLOCK) {
      const len = Math.min(VERIFY_BLOCK, size - pos);
      while (landing.bytes < pos + len && !landing.ended) await landing.beyond(landing.bytes);
      if (signal.aborted) throw new Cancelled();
      if (landing.bytes < pos + len) return false;
      await before(pos, len);
      const [ra, rb] = await Promise.all([fa.read(ba, 0, len, pos), fb.read(bb, 0, len, pos)]);
      if (ra.bytesRead !== len || rb.bytesRead !== len || ba.compare(bb, 0, len, 0, len) !== 0) {
        landing.end();
        return false;
      }
    }
    while (!landing.ended) await landing.beyond(landing.bytes);
    return (await fb.stat()).size === size;
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}
