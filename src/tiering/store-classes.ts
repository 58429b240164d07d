import { DEFAULT_CLASSES, STORAGE_CLASS_FACTS, type StoreSpecs } from '../storage';
import type { PlacementPrice } from './catalog';
import { PLACEMENTS, placementKey, type Tier } from './placements';

/** The S3 storage class a placement's objects are kept in (STORE_<LOCATION>_CLASSES). */
export interface PlacementClass {
  storageClass: string;
  /** The store is AWS itself (no endpoint): the class's list prices are what is billed. */
  aws: boolean;
}

/** By `LOCATION/TIER`; a placement on a file store has none. */
export type PlacementClasses = Readonly<Partial<Record<string, PlacementClass>>>;

/** A placement as the cost model prices it: the catalog's price, made the storage class's where that differs. */
export interface ClassedPrice {
  price: PlacementPrice;
  storageClass: string | undefined;
  /** How long a read waits for a restore first (0: it reads at once). */
  restoreHours: number;
}

/** Each S3 location's class per tier, from the stores' settings. */
export function placementClasses(stores: StoreSpecs): PlacementClasses {
  const out: Record<string, PlacementClass> = {};
  for (const p of PLACEMENTS) {
    const spec = stores[p.location];
    if (spec.kind === 's3')
      out[placementKey(p)] = { storageClass: spec.classes[p.tier], aws: spec.endpoint === undefined };
  }
  return out;
}

/**
 * The catalog's prices describe the default classes (STANDARD, STANDARD_IA, GLACIER_IR, as AWS
 * lists them for PUBLIC): where a store keeps a tier in another class the catalog row no longer
 * describes it, and the class's own facts take over. On AWS that is all of its list price; on a
 * compatible server (MinIO, StorageGRID, Ceph) the fees stay the operator's, from the catalog,
 * but a class that must be restored brings its wait, its minimum days and its retrieval fee,
 * since the product restores before it reads whatever the server. A class the product does not
 * know keeps the catalog's price.
 */
export function classedPrice(price: PlacementPrice, tier: Tier, c: PlacementClass | undefined): ClassedPrice {
  const facts = c ? STORAGE_CLASS_FACTS[c.storageClass] : undefined;
  if (!c || !facts || c.storageClass === DEFAULT_CLASSES[tier])
    return { price, storageClass: c?.storageClass, restoreHours: facts?.restore_hours ?? 0 };
  const { restore_hours: restoreHours, ...list } = facts;
  if (c.aws) return { price: { ...list }, storageClass: c.storageClass, restoreHours };
  if (restoreHours === 0) return { price, storageClass: c.storageClass, restoreHours };
  return {
    price: {
      ...price,
      retrieval_per_gb: Math.max(price.retrieval_per_gb, list.retrieval_per_gb),
      min_storage_days: Math.max(price.min_storage_days, list.min_storage_days),
      first_byte_ms: Math.max(price.first_byte_ms, list.first_byte_ms),
    },
    storageClass: c.storageClass,
    restoreHours,
  };
}
