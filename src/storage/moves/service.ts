import type { Db, Fence, MoveRow } from '../../db';
import type { Clock, KeyedLock, Logger, Service } from '../../platform';
import type { Faults } from '../faults';
import { Integrity } from '../integrity';
import type { Keyring } from '../keyring';
import { type BatchMove, StorageRepository } from '../repository';
import type { Bandwidth } from '../throttle';
import type { StoredObjects } from '../stored-objects';
import type { TierTree } from '../tier-tree';
import { MoveExecutor } from './execute';
import { FileMoveStore } from './file-store';
import { ObjectMoveStore } from './object-store-move';
import { routingMoveStore } from './routing-store';
import type { LiveProgress } from './progress';
import { type MoveRequest, MoveQueue } from './queue';
import { recoverMove, recoverMoves } from './recovery';
import { SourceRestores } from './restore-wait';
import { ClaimRepository } from './claim-repository';
import { MoveClaims } from './claims';
import { MovePricer, type MovePricing } from './pricing';

export interface MoveServiceDeps {
  db: Db;
  tree: TierTree;
  /** Each location's store: moves touching an object store go through it. */
  objects: StoredObjects;
  keyring: Keyring;
  /** One holder per dataset, shared with uploads. */
  locks: KeyedLock<number>;
  /** MOVE_BANDWIDTH, shared by every move. */
  bandwidth: Bandwidth;
  faults: Faults;
  clock: Clock;
  logger: Logger;
  /** Moves run at once (MOVE_CONCURRENCY). */
  concurrency: number;
  /** This instance's name on the moves it claims. */
  instance: string;
  /** A move's claim lapses this long after its owner's last renewal. */
  claimTtlMs: number;
  /** No other instance shares the database: every interrupted move is this directory's own to recover at start. */
  exclusive: boolean;
  /** How often a move waiting for its source's restore looks again (default RESTORE_CHECK_MS). */
  restoreCheckMs?: number;
}

/**
 * The journaled move of a dataset between placements, as the rest of the app sees it: the queue
 * (queue.ts) runs each move's steps (execute.ts) over the stored objects (file-store.ts), and
 * start-up recovery (recovery.ts) finishes or rolls back what a crash interrupted.
 */
export class MoveService implements Service {
  readonly name = 'moves';
  private readonly queue: MoveQueue;
  private readonly executor: MoveExecutor;
  private readonly recovery: () => Promise<void>;
  private readonly pricer: MovePricer;
  private readonly claimLostListeners: Array<(moveId: number) => void> = [];

  constructor(deps: MoveServiceDeps) {
    const { db, tree, objects, keyring, locks, bandwidth, faults, clock, logger, concurrency } = deps;
    const repo = new StorageRepository(db);
    const claims = new MoveClaims({
      repo: new ClaimRepository(db),
      instance: deps.instance,
      ttlMs: deps.claimTtlMs,
      logger,
    });
    const store = routingMoveStore(
      new FileMoveStore({ tree, bandwidth, faults }),
      new ObjectMoveStore({ objects, tree, bandwidth }),
      (location) => objects.isFile(location),
      (id, copy) => repo.setMove(id, { copy }),
    );
    const integrity = new Integrity({ repo, clock, logger });
    this.pricer = new MovePricer(logger);
    const recovery = { repo, store, tree, objects, keyring, clock, logger };
    const restores = new SourceRestores({ objects, checkEveryMs: deps.restoreCheckMs });
    this.executor = new MoveExecutor({
      ...{ repo, store, keyring, faults, integrity, clock, logger, restores },
      owner: deps.instance,
      claimLost: (id) => this.claimLostListeners.forEach((fn) => fn(id)),
    });
    this.queue = new MoveQueue({
      repo,
      execute: (move, signal, progress) => this.executor.execute(move, signal, progress),
      locks,
      clock,
      logger,
      concurrency,
      claims,
      pricer: this.pricer,
      ...(deps.exclusive ? {} : { recoverOrphan: (m: MoveRow) => recoverMove(recovery, m) }),
    });
    this.recovery = () => recoverMoves(recovery, claims, deps.exclusive);
  }

  /**
   * Set once by the composition root (tiering is built after the queue it hands moves to): from
   * then on a move queued without a decision is linked to one.
   */
  priceWith(pricing: MovePricing): void {
    this.pricer.use(pricing);
  }

  enqueue(datasetId: number, req: MoveRequest): Promise<MoveRow> {
    return this.queue.enqueue(datasetId, req);
  }

  enqueueBatch(items: readonly BatchMove[], fence?: Fence): Promise<Map<number, number>> {
    return this.queue.enqueueBatch(items, fence);
  }

  waitFor(moveId: number): Promise<MoveRow> {
    return this.queue.waitFor(moveId);
  }

  progress(moveId: number): LiveProgress | undefined {
    return this.queue.progress(moveId);
  }

  /** `fn` hears each move this instance gave up because another instance claims it now (for /metrics). */
  onClaimLost(fn: (moveId: number) => void): void {
    this.claimLostListeners.push(fn);
  }

  cancel(moveId: number): Promise<MoveRow> {
    return this.queue.cancel(moveId);
  }

  /** Before `start()`: finishes or rolls back moves a crash interrupted, and clears the tree of leftovers. */
  recover(): Promise<void> {
    return this.recovery();
  }

  async start(): Promise<void> {
    this.queue.start();
  }

  async stop(): Promise<void> {
    await this.queue.stop();
    await this.executor.idle();
  }
}
