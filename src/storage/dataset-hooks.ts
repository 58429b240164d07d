import path from 'node:path';
import { type DatasetWithStats, type DatasetChanges } from '../datasets';
import { AppError } from '../platform';
import type { StorageRepository } from './repository';
import { type TierTree, fsyncDir, removeIfExists } from './tier-tree';

/** A dataset being moved cannot be deleted; a deleted dataset's bytes leave the tier tree. */
export class StorageDatasetHooks implements DatasetChanges {
  constructor(
    private readonly repo: StorageRepository,
    private readonly tree: TierTree,
  ) {}

  async beforeDelete(d: DatasetWithStats): Promise<void> {
    const active = await this.repo.activeMove(d.id);
    if (active)
      throw AppError.conflict(`dataset is being moved (move ${active.id}); cancel the move or wait for it`, {
        move_id: active.id,
      });
  }

  async onDeleted(d: DatasetWithStats): Promise<void> {
    if (!d.object_id) return;
    const file = this.tree.objectPath(d.location, d.tier, d.object_id);
    // A crash before this line leaves an unreferenced file, which start-up recovery removes.
    if (await removeIfExists(file)) await fsyncDir(path.dirname(file));
  }
}
