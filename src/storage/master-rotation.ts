import { type KeyedLock, type Logger, type Service, delay, oneAtATime } from '../platform';
import { CryptoError, relabelFile } from './crypto';
import type { Faults } from './faults';
import type { Keyring } from './keyring';
import { KeyringRepository } from './keyring-repository';
import type { StorageRepository } from './repository';
import type { TierTree } from './tier-tree';
import type { Kysely } from 'kysely';
import type { DB } from '../db';

export interface MasterRotationDeps {
  db: Kysely<DB>;
  repo: StorageRepository;
  tree: TierTree;
  keyring: Keyring;
  /** One holder per dataset, shared with uploads and moves. */
  locks: KeyedLock<number>;
  faults: Faults;
  logger: Logger;
}

export interface MasterRotationReport {
  /** Data keys re-wrapped under the current master (with their object's label). */
  rewrapped: number;
  /** Left for a later run, with why: a data key that unwraps under neither master given. */
  left: Array<{ dataset_id: number; reason: string }>;
  /** Keys re-wrapped whose object's label could not be (the object is missing or its label damaged). */
  unlabelled: Array<{ dataset_id: number; reason: string }>;
  /** True once nothing is wrapped under the previous master: it is no longer needed. */
  finished: boolean;
}

const PAGE = 100;

/**
 * Re-wraps, after a master key rotation began at start (Keyring.start), every data key still
 * wrapped under the previous master: for each object, under its dataset's lock so no upload or
 * move races it, the label in the object's header is re-sealed in place with the new wrapping
 * (fsynced), then the row is switched, only if it still holds the key and object read. A crash
 * between the two leaves a label already re-wrapped and a row not yet: the next run does that
 * object again, the same way. Reads go on throughout: the data key itself never changes, so a
 * download authenticates either label. When nothing is left, the previous master is no longer
 * needed, and the log and `/readyz` details say so.
 */
export class MasterRotation implements Service {
  readonly name = 'master-key-rotation';
  readonly run = oneAtATime(() => this.rewrapAll());
  private readonly keys: KeyringRepository;
  private background: Promise<unknown> | undefined;
  private stopping = false;
  private abort = new AbortController();
  private last: MasterRotationReport | undefined;

  constructor(private readonly deps: MasterRotationDeps) {
    this.keys = new KeyringRepository(deps.db);
  }

  async start(): Promise<void> {
    this.stopping = false;
    this.abort = new AbortController();
    if (!(await this.deps.keyring.rotatingFrom())) return;
    // In the background: the product serves while it runs.
    this.background = this.run().catch((err: unknown) =>
      this.deps.logger.error('storage.master_rotation_failed', { error: err as Error }),
    );
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    await this.background;
  }

  // No readiness check: the instance serves throughout a rotation; `details` says where it stands.
  async details(): Promise<Record<string, unknown>> {
    const status = await this.deps.keyring.masterStatus();
    return {
      master_key: this.last
        ? {
            ...status,
            last_run: { ...this.last, left: this.last.left.length, unlabelled: this.last.unlabelled.length },
          }
        : status,
    };
  }

  private async rewrapAll(): Promise<MasterRotationReport> {
    const { keyring, logger } = this.deps;
    const from = await keyring.rotatingFrom();
    const report: MasterRotationReport = { rewrapped: 0, left: [], unlabelled: [], finished: from === undefined };
    if (!from) return report;
    logger.info('storage.master_rotation_running', { from, to: keyring.fingerprint });
    // Objects being moved wait for their move (which holds the dataset's lock for its whole copy
    // and wraps for the destination under the new master anyway): passes repeat until none is left.
    for (let deferred = 1; deferred > 0 && !this.stopping;) {
      deferred = await this.pass(report);
      if (deferred > 0) await delay(1_000, this.abort.signal);
    }
    if (!this.stopping && (await this.keys.countNotUnderMaster(keyring.fingerprint)) === 0) {
      await keyring.finishRotation(from);
      report.finished = true;
    }
    this.last = report;
    logger.info('storage.master_rotation_run', {
      ...report,
      left: report.left.length,
      unlabelled: report.unlabelled.length,
    });
    return report;
  }

  /** One pass over what is left; returns how many were skipped for a move in progress. */
  private async pass(report: MasterRotationReport): Promise<number> {
    const { keyring, logger, repo } = this.deps;
    let deferred = 0;
    report.left.length = 0; // tried again in this pass
    for (let after = 0; !this.stopping;) {
      const page = await this.keys.notUnderMaster(keyring.fingerprint, after, PAGE);
      if (page.length === 0) break;
      for (const { id } of page) {
        if (this.stopping) break;
        if (await repo.activeMove(id)) {
          deferred++;
          continue;
        }
        try {
          if (await this.deps.locks.run(id, () => this.rewrapOne(id, report.unlabelled))) report.rewrapped++;
        } catch (err) {
          if (!(err instanceof CryptoError)) throw err;
          report.left.push({ dataset_id: id, reason: err.message });
          logger.warn('storage.master_rotation_skipped', { dataset_id: id, error: err });
        }
      }
      after = page.at(-1)!.id;
    }
    return deferred;
  }

  /** False if the row changed meanwhile (an upload or a move wrapped it under the new master itself). */
  private async rewrapOne(id: number, unlabelled: MasterRotationReport['unlabelled']): Promise<boolean> {
    const { repo, tree, keyring, faults } = this.deps;
    const row = await repo.content(id);
    if (!row?.kek_id || !row.wrapped_key || row.kek_id.endsWith(`@${keyring.fingerprint}`)) return false;
    const dek = keyring.unwrap(row.kek_id, row.wrapped_key);
    const { kekId, wrapped } = await keyring.wrapFor(row.location, dek);
    if (row.object_id) {
      const file = tree.objectPath(row.location, row.tier, row.object_id);
      try {
        await relabelFile(file, dek, (label) => ({ ...label, kekId, wrapped }));
      } catch (err) {
        // A missing object or a damaged label is the scrub's finding already; its key is
        // re-wrapped all the same, or the old master could never be let go.
        if (!(err instanceof CryptoError || isGone(err))) throw err;
        unlabelled.push({ dataset_id: id, reason: (err as Error).message });
        this.deps.logger.warn('storage.master_rotation_label_not_rewritten', { dataset_id: id, error: err as Error });
      }
      await faults.reach('rotate.after_relabel', { dataset_id: id, file });
    }
    const done = await this.keys.rewrapOne({
      id,
      was: row.kek_id,
      objectId: row.object_id,
      kek_id: kekId,
      wrapped_key: wrapped,
    });
    await faults.reach('rotate.after_rewrap', { dataset_id: id });
    return done;
  }
}

function isGone(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}
