/**
 * What an S3 storage class costs and how soon it reads, at AWS's public list prices (us-east-1;
 * money in US dollars, GB = 2^30 bytes). For a class that must be restored first, `read_per_1k`
 * is the restore request and `retrieval_per_gb` the Standard retrieval; `restore_hours` is how
 * long a Standard restore usually takes (AWS: 3-5 h for Flexible Retrieval, within 12 h for Deep
 * Archive), and a read waits that long: it is also the first byte's time.
 */
export interface StorageClassFacts {
  storage_gb_month: number;
  write_per_1k: number;
  read_per_1k: number;
  retrieval_per_gb: number;
  min_storage_days: number;
  min_billable_bytes: number;
  first_byte_ms: number;
  /** 0 for a class that reads at once. */
  restore_hours: number;
}

const KB = 1024;
const HOUR_MS = 3_600_000;

const instant = (
  storage: number,
  write: number,
  read: number,
  retrieval: number,
  minDays: number,
  firstByteMs: number,
): StorageClassFacts => ({
  storage_gb_month: storage,
  write_per_1k: write,
  read_per_1k: read,
  retrieval_per_gb: retrieval,
  min_storage_days: minDays,
  min_billable_bytes: minDays > 0 ? 128 * KB : 0,
  first_byte_ms: firstByteMs,
  restore_hours: 0,
});

const restored = (
  storage: number,
  write: number,
  restoreReq: number,
  retrieval: number,
  minDays: number,
  hours: number,
): StorageClassFacts => ({
  storage_gb_month: storage,
  write_per_1k: write,
  read_per_1k: restoreReq,
  retrieval_per_gb: retrieval,
  min_storage_days: minDays,
  min_billable_bytes: 0,
  first_byte_ms: hours * HOUR_MS,
  restore_hours: hours,
});

export const STORAGE_CLASS_FACTS: Readonly<Record<string, StorageClassFacts>> = {
  STANDARD: instant(0.023, 0.005, 0.0004, 0, 0, 30),
  STANDARD_IA: instant(0.0125, 0.01, 0.001, 0.01, 30, 30),
  ONEZONE_IA: instant(0.01, 0.01, 0.001, 0.01, 30, 30),
  GLACIER_IR: instant(0.004, 0.02, 0.01, 0.03, 90, 40),
  GLACIER: restored(0.0036, 0.03, 0.05, 0.01, 90, 5),
  DEEP_ARCHIVE: restored(0.00099, 0.05, 0.1, 0.02, 180, 12),
};

/** How long a Standard restore of an object in `storageClass` usually takes; 5 h for a class not listed. */
export function restoreHours(storageClass: string | undefined): number {
  return STORAGE_CLASS_FACTS[storageClass ?? '']?.restore_hours || 5;
}
