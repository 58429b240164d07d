import path from 'node:path';
import type { Clock, Logger } from '../../platform';
import type { StorageRepository } from '../repository';
import { type TierTree, removeIfExists } from '../tier-tree';
import { pointsAtSource } from './execute';
import type { MoveStore } from './store';

export interface RecoveryDeps {
  repo: StorageRepository;
  store: MoveStore;
  tree: TierTree;
  clock: Clock;
  logger: Logger;
}

/**
 * Start-up recovery, before the queue runs: interrupted moves that had not switched are rolled
 * back (the partial copy removed) and planned again; switched ones are finished (the source
 * removed). Then any temporary or unreferenced file in the tier tree is removed.
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
      if (await pointsAtSource(repo, m)) await store.remove({ location: m.to_location, tier: m.to_tier }, m.object_id);
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

/** Temporaries, and objects no dataset points at, are left by crashes: nothing else reads them. */
async function removeOrphans({ repo, tree, logger }: RecoveryDeps): Promise<void> {
  const referenced = await repo.referencedObjects();
  for (const f of await tree.list()) {
    if (f.tmp || !f.objectId || !referenced.has(`${f.location}/${f.tier}/${f.objectId}`)) {
      await removeIfExists(f.path);
      logger.warn('storage.orphan_removed', {
        file: path.relative(tree.root, f.path),
        kind: f.tmp ? 'temporary' : 'unreferenced',
      });
    }
  }
}
