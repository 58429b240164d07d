import type { StorageRepository } from './repository';
import type { ObjectStores, StoreView } from './stores';

/** A location's store as the overview and the moves page show it. */
export interface StorePanelRow extends StoreView {
  /** Objects the catalog keeps there, and their plaintext bytes. */
  objects: number;
  bytes: number;
}

/** Each location's store: kind, where, endpoint, health (probed now), objects and bytes. */
export async function storePanel(stores: ObjectStores, repo: StorageRepository): Promise<StorePanelRow[]> {
  const [views, counts] = await Promise.all([stores.views(), repo.storedByLocation()]);
  return views.map((v) => {
    const c = counts.find((x) => x.location === v.location);
    return { ...v, objects: c?.objects ?? 0, bytes: c?.bytes ?? 0 };
  });
}
