import { ValidationError } from '../platform';
import { LOCATIONS, PLACEMENTS, placementKey, type Location, type Placement } from './placements';

/** What one placement costs and how fast it answers. Money in US dollars. */
export interface PlacementPrice {
  /** Storage per GB-month (GB = 2^30 bytes, a month = 30 days). */
  storage_gb_month: number;
  /** Per 1,000 write requests (PUT, COPY, POST). */
  write_per_1k: number;
  /** Per 1,000 read requests (GET). */
  read_per_1k: number;
  /** Per GB read back (retrieval fee of infrequent-access classes). */
  retrieval_per_gb: number;
  /** Objects removed or moved out earlier are charged for the remaining days. */
  min_storage_days: number;
  /** Smaller objects are charged as if they were this large. */
  min_billable_bytes: number;
  /** Time to the first byte of a read. */
  first_byte_ms: number;
}

export interface PriceCatalog {
  /** Keyed by `LOCATION/TIER`, all nine present. */
  placements: Record<string, PlacementPrice>;
  /** Per GB carried from one location to another by a move: egress[from][to]. */
  egress_per_gb: Record<Location, Record<Location, number>>;
  /** Per GB served by reads from a location to where the readers are (0 when they sit beside it). */
  read_egress_per_gb: Record<Location, number>;
}

const KB = 1024;

/**
 * Defaults. PUBLIC follows AWS S3's public list prices (us-east-1): Standard, Standard-IA and
 * Glacier Instant Retrieval, with their request and retrieval fees, 30- and 90-day minimums and
 * 128 KB minimum billable size, and internet egress of $0.09/GB. PRIVATE is a private cloud
 * object store (replicated SSD, erasure-coded HDD, dense archive HDD) billed for capacity, with
 * no request or retrieval fees. ONPREM is owned capacity, amortised over its life with power
 * and support: all-flash, an HDD NAS and a tape library (cheapest, but a tape mount takes
 * a minute and a half before the first byte).
 */
export const DEFAULT_CATALOG: PriceCatalog = {
  placements: {
    'ONPREM/HOT': {
      storage_gb_month: 0.08,
      write_per_1k: 0,
      read_per_1k: 0,
      retrieval_per_gb: 0,
      min_storage_days: 0,
      min_billable_bytes: 0,
      first_byte_ms: 1,
    },
    'ONPREM/WARM': {
      storage_gb_month: 0.025,
      write_per_1k: 0,
      read_per_1k: 0,
      retrieval_per_gb: 0,
      min_storage_days: 0,
      min_billable_bytes: 0,
      first_byte_ms: 10,
    },
    'ONPREM/COLD': {
      storage_gb_month: 0.002,
      write_per_1k: 0,
      read_per_1k: 0.05,
      retrieval_per_gb: 0.005,
      min_storage_days: 0,
      min_billable_bytes: 0,
      first_byte_ms: 90_000,
    },
    'PRIVATE/HOT': {
      storage_gb_month: 0.045,
      write_per_1k: 0,
      read_per_1k: 0,
      retrieval_per_gb: 0,
      min_storage_days: 0,
      min_billable_bytes: 0,
      first_byte_ms: 5,
    },
    'PRIVATE/WARM': {
      storage_gb_month: 0.015,
      write_per_1k: 0,
      read_per_1k: 0,
      retrieval_per_gb: 0,
      min_storage_days: 0,
      min_billable_bytes: 0,
      first_byte_ms: 15,
    },
    'PRIVATE/COLD': {
      storage_gb_month: 0.007,
      write_per_1k: 0.005,
      read_per_1k: 0.005,
      retrieval_per_gb: 0.01,
      min_storage_days: 30,
      min_billable_bytes: 128 * KB,
      first_byte_ms: 150,
    },
    'PUBLIC/HOT': {
      storage_gb_month: 0.023,
      write_per_1k: 0.005,
      read_per_1k: 0.0004,
      retrieval_per_gb: 0,
      min_storage_days: 0,
      min_billable_bytes: 0,
      first_byte_ms: 30,
    },
    'PUBLIC/WARM': {
      storage_gb_month: 0.0125,
      write_per_1k: 0.01,
      read_per_1k: 0.001,
      retrieval_per_gb: 0.01,
      min_storage_days: 30,
      min_billable_bytes: 128 * KB,
      first_byte_ms: 30,
    },
    'PUBLIC/COLD': {
      storage_gb_month: 0.004,
      write_per_1k: 0.02,
      read_per_1k: 0.01,
      retrieval_per_gb: 0.03,
      min_storage_days: 90,
      min_billable_bytes: 128 * KB,
      first_byte_ms: 40,
    },
  },
  egress_per_gb: {
    ONPREM: { ONPREM: 0, PRIVATE: 0, PUBLIC: 0 },
    PRIVATE: { ONPREM: 0.02, PRIVATE: 0, PUBLIC: 0.02 },
    PUBLIC: { ONPREM: 0.09, PRIVATE: 0.09, PUBLIC: 0 },
  },
  read_egress_per_gb: { ONPREM: 0, PRIVATE: 0, PUBLIC: 0 },
};

export function priceOf(catalog: PriceCatalog, p: Placement): PlacementPrice {
  return catalog.placements[placementKey(p)]!;
}

const PRICE_FIELDS: { [K in keyof PlacementPrice]: { max: number; integer?: boolean } } = {
  storage_gb_month: { max: 1_000 },
  write_per_1k: { max: 1_000 },
  read_per_1k: { max: 1_000 },
  retrieval_per_gb: { max: 1_000 },
  min_storage_days: { max: 3_650, integer: true },
  min_billable_bytes: { max: 1024 ** 4, integer: true },
  first_byte_ms: { max: 86_400_000 },
};

function num(value: unknown, field: string, max: number, integer = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ValidationError(field, 'must be a number');
  if (value < 0) throw new ValidationError(field, 'must be at least 0');
  if (value > max) throw new ValidationError(field, `must be at most ${max}`);
  if (integer && !Number.isInteger(value)) throw new ValidationError(field, 'must be a whole number');
  return value;
}

function obj(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ValidationError(field, 'must be a JSON object');
  return value as Record<string, unknown>;
}

function onlyKeys(o: Record<string, unknown>, allowed: readonly string[], field: string): void {
  for (const k of Object.keys(o))
    if (!allowed.includes(k))
      throw new ValidationError(`${field}.${k}`, `unknown field (expected one of: ${allowed.join(', ')})`);
}

/**
 * Validates a whole catalog, or a partial one laid over `base` (only the fields given change).
 * Every error names the field by its path, e.g. `placements.PUBLIC/COLD.retrieval_per_gb`.
 */
export function parseCatalog(input: unknown, base: PriceCatalog = DEFAULT_CATALOG): PriceCatalog {
  const root = obj(input, 'catalog');
  onlyKeys(root, ['placements', 'egress_per_gb', 'read_egress_per_gb'], 'catalog');
  const out: PriceCatalog = structuredClone(base);
  if (root.placements !== undefined) {
    const ps = obj(root.placements, 'placements');
    const keys = PLACEMENTS.map(placementKey);
    onlyKeys(ps, keys, 'placements');
    for (const [key, raw] of Object.entries(ps)) {
      const p = obj(raw, `placements.${key}`);
      onlyKeys(p, Object.keys(PRICE_FIELDS), `placements.${key}`);
      const target = out.placements[key]!;
      for (const [f, spec] of Object.entries(PRICE_FIELDS) as [
        keyof PlacementPrice,
        { max: number; integer?: boolean },
      ][]) {
        if (p[f] !== undefined) target[f] = num(p[f], `placements.${key}.${f}`, spec.max, spec.integer);
      }
    }
  }
  if (root.egress_per_gb !== undefined) {
    const e = obj(root.egress_per_gb, 'egress_per_gb');
    onlyKeys(e, LOCATIONS, 'egress_per_gb');
    for (const [from, raw] of Object.entries(e)) {
      const row = obj(raw, `egress_per_gb.${from}`);
      onlyKeys(row, LOCATIONS, `egress_per_gb.${from}`);
      for (const [to, v] of Object.entries(row))
        out.egress_per_gb[from as Location][to as Location] = num(v, `egress_per_gb.${from}.${to}`, 1_000);
    }
  }
  if (root.read_egress_per_gb !== undefined) {
    const r = obj(root.read_egress_per_gb, 'read_egress_per_gb');
    onlyKeys(r, LOCATIONS, 'read_egress_per_gb');
    for (const [loc, v] of Object.entries(r))
      out.read_egress_per_gb[loc as Location] = num(v, `read_egress_per_gb.${loc}`, 1_000);
  }
  return out;
}
