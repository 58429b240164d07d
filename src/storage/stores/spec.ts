import type { Location, Tier } from '../../db';
import type { ObjectHead } from './object-store';

/** Storage classes a read must first restore (hours), as S3 names them. */
export const RESTORE_CLASSES = ['GLACIER', 'DEEP_ARCHIVE'] as const;

/** Whether an object in `storageClass` must be restored before it can be read. */
export function needsRestore(head: ObjectHead): boolean {
  if (!(RESTORE_CLASSES as readonly string[]).includes(head.storageClass ?? '')) return false;
  return !head.restore || head.restore.ongoing;
}

export const DEFAULT_CLASSES: Readonly<Record<Tier, string>> = {
  HOT: 'STANDARD',
  WARM: 'STANDARD_IA',
  COLD: 'GLACIER_IR',
};

/**
 * Where one location keeps its bytes, as STORE_<LOCATION> and its companions say. Credentials
 * are not here: an S3 store takes them from the AWS SDK's default provider chain.
 */
export type StoreSpec =
  | {
      kind: 'file';
      location: Location;
      /** Absolute; undefined: DATA_DIR/tiers/<location> (today's folder). */
      root: string | undefined;
      /** On a mount other instances see too (STORE_<LOCATION>_SHARED). */
      shared: boolean;
    }
  | {
      kind: 's3';
      location: Location;
      bucket: string;
      /** '' or ends with '/'. */
      prefix: string;
      /** undefined: AWS. */
      endpoint: string | undefined;
      region: string;
      pathStyle: boolean;
      classes: Readonly<Record<Tier, string>>;
      /** Every instance sees the same bucket. */
      shared: true;
    };

export type StoreSpecs = Readonly<Record<Location, StoreSpec>>;

/** The object key of a stored object inside its store: the same names the tier tree uses. */
export function objectKey(tier: Tier, objectId: string): string {
  return `${tier}/${objectId}.enc`;
}
