import path from 'node:path';
import type { Clock, Logger } from '../../platform';
import { CryptoError, readObjectHeader } from '../crypto';
import type { Keyring } from '../keyring';
import type { StorageRepository } from '../repository';
import { type TierTree, removeIfExists } from '../tier-tree';
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
 */
export async function recoverMoves(deps: RecoveryDeps): Promise<void> {
  const { repo, store, clock, logger } = deps;
  for (const m of await repo.movesIn(['copying', 'verifying', 'switched'], 1_000_000)) {
    const log = logger.child({ move_id: m.id, dataset_id: m.dataset_id });
    if (m.catalog_only || !m.object_id) {
      await repo.setMove(m.id, { state: 'planned' });
      continue;
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
      });
      log.warn('move.recovered', { was: m.state, action: 'rolled back (partial copy removed) and planned again' });
    }
  }
  await removeOrphans(deps);
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
async function removeOrphans(deps: RecoveryDeps): Promise<void> {
  const { repo, tree, logger } = deps;
  const referenced = await repo.referencedObjects();
  const files = await tree.list();
  const onDisk = new Set(files.flatMap((f) => (f.objectId ? [`${f.location}/${f.tier}/${f.objectId}`] : [])));
  for (const f of files) {
    if (!f.tmp && f.objectId && referenced.has(`${f.location}/${f.tier}/${f.objectId}`)) continue;
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
