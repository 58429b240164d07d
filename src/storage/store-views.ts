import { TIERS } from '../db';
import type { StorageRepository } from './repository';
import { type ObjectStores, type StoreView, restoreHours, RESTORE_CLASSES } from './stores';

/** A location's store as the overview and the moves page show it. */
export interface StorePanelRow extends StoreView {
  /** Objects the catalog keeps there, and their plaintext bytes. */
  objects: number;
  bytes: number;
  /** On S3: each tier's storage class, and how long a read there waits for a restore (0: none). */
  classes: Array<{ tier: string; storage_class: string; restore_hours: number }> | null;
}

/** Each location's store: kind, where, endpoint, health (probed now), objects and bytes, S3 classes. */
export async function storePanel(stores: ObjectStores, repo: StorageRepository): Promise<StorePanelRow[]> {
  const [views, counts] = await Promise.all([stores.views(), repo.storedByLocation()]);
  return views.map((v) => {
    const c = counts.find((x) => x.location === v.location);
    const classes = stores.classes(v.location);
    return {
      ...v,
      objects: c?.objects ?? 0,
      bytes: c?.bytes ?? 0,
      classes: classes
        ? TIERS.map((tier) => ({
            tier,
            storage_class: classes[tier],
            restore_hours: (RESTORE_CLASSES as readonly string[]).includes(classes[tier])
              ? restoreHours(classes[tier])
              : 0,
          }))
        : null,
    };
  });
}
