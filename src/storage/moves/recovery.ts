import fs from 'node:fs/promises';
import path from 'node:path';
import type { MoveRow, MoveState } from '../../db';
import type { Clock, Logger } from '../../platform';
import { CryptoError, readObjectHeader } from '../crypto';
import type { Keyring } from '../keyring';
import type { StorageRepository } from '../repository';
import { type TierTree, removeIfExists } from '../tier-tree';
import type { MoveClaims } from './claims';
import { pointsAtSource } from './execute';
import type { MoveStore, Placement } from './store';

export interface RecoveryDeps {
  repo: StorageRepository;
  store: MoveStore;
  tree: TierTree;
  keyring: Keyring;
  clock: Clock;
  logger: Logger;
}

/**
 * Start-up recovery, before the queue runs: interrupted moves that had not switched are rolled
 * back (the partial copy removed) and planned again; switched ones are finished (the source
 * removed). Then temporaries, and unreferenced objects known to be superseded, are removed.
 * Unless `exclusive` (no other instance can share the database), only moves whose owner stopped
 * renewing its claim are touched, each claimed first, and files another instance may be
 * writing are left alone.
 */
export async function recoverMoves(deps: RecoveryDeps, claims: MoveClaims, exclusive: boolean): Promise<void> {
  const inFlight: MoveState[] = ['copying', 'verifying', 'switched'];
  if (exclusive) await claims.forgetPlanned();
  const moves = exclusive ? await deps.repo.movesIn(inFlight, 1_000_000) : await claims.orphaned(1_000_000);
  for (const m of moves) {
    if (!exclusive && !(await claims.claim(m.id, inFlight))) continue;
    await recoverMove(deps, m);
  }
  await removeOrphans(deps, !exclusive);
}

/** One interrupted move, from what the store holds: finished when it had switched, else rolled back and planned again. */
export async function recoverMove(deps: RecoveryDeps, m: MoveRow): Promise<void> {
  const { repo, store, clock, logger } = deps;
  const log = logger.child({ move_id: m.id, dataset_id: m.dataset_id });
  if (m.catalog_only || !m.object_id) {
    await repo.setMove(m.id, { state: 'planned', claimed_until: null });
    return;
  }
  if (m.state === 'switched') {
    await store.remove({ location: m.from_location, tier: m.from_tier }, m.object_id);
    await repo.setMove(m.id, { state: 'done', error: null, finished_at: clock.now() });
    log.warn('move.recovered', { was: m.state, action: 'finished: source removed after the switch' });
  } else {
    // Only while the source is there: after a restore from a backup taken mid-move, the copy may be all there is.
    const from = { location: m.from_location, tier: m.from_tier };
    if ((await pointsAtSource(repo, m)) && (await sourceExists(store, from, m.object_id)))
      await store.remove({ location: m.to_location, tier: m.to_tier }, m.object_id);
    await repo.setMove(m.id, {
      state: 'planned',
      bytes_done: 0,
      error: `interrupted while ${m.state}; rolled back and planned again`,
      claimed_until: null,
    });
    log.warn('move.recovered', { was: m.state, action: 'rolled back (partial copy removed) and planned again' });
  }
}

/** Written to within the last ten minutes: perhaps by another instance's upload or move still under way. */
async function recentlyWritten(file: string): Promise<boolean> {
  const st = await fs.stat(file).catch(() => undefined);
  return !!st && Date.now() - st.mtimeMs < 10 * 60_000;
}

async function sourceExists(store: MoveStore, at: Placement, objectId: string): Promise<boolean> {
  try {
    await store.size(at, objectId);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Temporaries are left by crashes: nothing else reads them. An object no dataset points at is
 * removed only when it is known to be garbage: a version 1 object (its data key was only ever in
 * the database, so nothing can read it), or one whose label names a dataset that points at
 * another object that is present (an upload or move that crashed before its switch). Any other
 * is kept and reported: after the database was lost or restored from an older backup, it may be
 * the only copy of a dataset, which `recover` puts back in the catalog.
 */
async function removeOrphans(deps: RecoveryDeps, shared: boolean): Promise<void> {
  const { repo, tree, logger } = deps;
  const referenced = await repo.referencedObjects();
  const files = await tree.list();
  const onDisk = new Set(files.flatMap((f) => (f.objectId ? [`${f.location}/${f.tier}/${f.objectId}`] : [])));
  // Shared stores: another live instance may be writing a temporary or publishing a copy right now.
  const busy = shared
    ? new Set((await repo.movesIn(['planned', 'copying', 'verifying', 'switched'])).map((m) => m.object_id))
    : undefined;
  for (const f of files) {
    if (!f.tmp && f.objectId && referenced.has(`${f.location}/${f.tier}/${f.objectId}`)) continue;
    if (busy && ((f.objectId && busy.has(f.objectId)) || (await recentlyWritten(f.path)))) continue;
    const file = path.relative(tree.root, f.path);
    const kind = f.tmp || !f.objectId ? 'temporary' : await supersededBy(deps, f.path, onDisk);
    if (kind === undefined) {
      logger.warn('storage.unreferenced_kept', {
        file,
        hint: 'no dataset points at this object: `npm run cli -- recover` (product stopped) catalogs or reports it',
      });
      continue;
    }
    await removeIfExists(f.path);
    logger.warn('storage.orphan_removed', { file, kind });
  }
}

/** Why an unreferenced object is garbage ('unlabelled' or 'superseded'), or undefined to keep it. */
async function supersededBy(
  { repo, keyring }: RecoveryDeps,
  file: string,
  onDisk: Set<string>,
): Promise<'unlabelled' | 'superseded' | undefined> {
  try {
    const h = await readObjectHeader(file);
    if (!h.key) return 'unlabelled';
    const { facts } = h.open(keyring.unwrap(h.key.kekId, h.key.wrapped));
    const row = await repo.content(facts.dataset_id);
    const current = row?.object_id && `${row.location}/${row.tier}/${row.object_id}`;
    return current && current !== `${facts.location}/${facts.tier}/${facts.object_id}` && onDisk.has(current)
      ? 'superseded'
      : undefined;
  } catch (err) {
    if (err instanceof CryptoError) return undefined;
    throw err;
  }
}
