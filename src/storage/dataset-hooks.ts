import { type DatasetWithStats, type DatasetChanges } from '../datasets';
import { AppError } from '../platform';
import type { StorageRepository } from './repository';
import type { StoredObjects } from './stored-objects';

/** A dataset being moved cannot be deleted; a deleted dataset's bytes leave their store. */
export class StorageDatasetHooks implements DatasetChanges {
  constructor(
    private readonly repo: StorageRepository,
    private readonly objects: StoredObjects,
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
    // A crash before this line leaves an unreferenced object, which start-up recovery removes.
    await this.objects.remove(d.location, d.tier, d.object_id);
  }
}
