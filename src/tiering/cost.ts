import { priceOf, type PriceCatalog } from './catalog';
import { PLACEMENTS, type Placement, placementIndex } from './placements';

const GB = 1024 ** 3;
const DAYS_PER_MONTH = 30;
/** A move is carried as a multipart copy of parts this large: one request per part. */
const PART_BYTES = 100 * 1024 * 1024;

/** Expected use of a dataset over a horizon. Scans count here: they cost like any read. */
export interface Usage {
  reads: number;
  readBytes: number;
  writes: number;
  writeBytes: number;
}

export interface HoldCost {
  storage: number;
  requests: number;
  retrieval: number;
  egress: number;
  total: number;
}

export interface MoveCost {
  /** Egress between locations, retrieval at the source and the copy's requests. */
  transfer: number;
  /** Storage still owed at the source for its minimum duration. */
  early_deletion: number;
  total: number;
}

/**
 * The cost model: prices a dataset at each placement over a horizon, and a move between two
 * placements. Compiled from a catalog into flat arrays indexed by placement, because the
 * scheduler prices every placement of every dataset on each run (a million datasets × nine).
 */
export class CostModel {
  readonly storageDay: Float64Array;
  readonly minBillable: Float64Array;
  readonly readReq: Float64Array;
  readonly writeReq: Float64Array;
  readonly retrieval: Float64Array;
  readonly readEgress: Float64Array;
  readonly minDays: Float64Array;
  readonly firstByteMs: Float64Array;
  /** egress[from * 9 + to] per GB, including the retrieval of the source's bytes. */
  private readonly moveGb: Float64Array;

  constructor(readonly catalog: PriceCatalog) {
    const n = PLACEMENTS.length;
    this.storageDay = new Float64Array(n);
    this.minBillable = new Float64Array(n);
    this.readReq = new Float64Array(n);
    this.writeReq = new Float64Array(n);
    this.retrieval = new Float64Array(n);
    this.readEgress = new Float64Array(n);
    this.minDays = new Float64Array(n);
    this.firstByteMs = new Float64Array(n);
    this.moveGb = new Float64Array(n * n);
    PLACEMENTS.forEach((p, i) => {
      const price = priceOf(catalog, p);
      this.storageDay[i] = price.storage_gb_month / DAYS_PER_MONTH;
      this.minBillable[i] = price.min_billable_bytes;
      this.readReq[i] = price.read_per_1k / 1000;
      this.writeReq[i] = price.write_per_1k / 1000;
      this.retrieval[i] = price.retrieval_per_gb;
      this.readEgress[i] = catalog.read_egress_per_gb[p.location];
      this.minDays[i] = price.min_storage_days;
      this.firstByteMs[i] = price.first_byte_ms;
    });
    PLACEMENTS.forEach((from, i) =>
      PLACEMENTS.forEach((to, j) => {
        this.moveGb[i * n + j] = i === j ? 0 : catalog.egress_per_gb[from.location][to.location] + this.retrieval[i]!;
      }),
    );
  }

  static index(p: Placement): number {
    return placementIndex(p);
  }

  /** Storage for `days` at placement `pi`, billed on at least its minimum billable size. */
  storage(pi: number, sizeBytes: number, days: number): number {
    return (Math.max(sizeBytes, this.minBillable[pi]!) / GB) * this.storageDay[pi]! * days;
  }

  /** The total of holdBreakdown without building an object: the scheduler's hot path. */
  hold(pi: number, sizeBytes: number, u: Usage, days: number): number {
    return (
      this.storage(pi, sizeBytes, days) +
      u.reads * this.readReq[pi]! +
      u.writes * this.writeReq[pi]! +
      (u.readBytes / GB) * (this.retrieval[pi]! + this.readEgress[pi]!)
    );
  }

  holdBreakdown(pi: number, sizeBytes: number, u: Usage, days: number): HoldCost {
    const storage = this.storage(pi, sizeBytes, days);
    const requests = u.reads * this.readReq[pi]! + u.writes * this.writeReq[pi]!;
    const retrieval = (u.readBytes / GB) * this.retrieval[pi]!;
    const egress = (u.readBytes / GB) * this.readEgress[pi]!;
    return { storage, requests, retrieval, egress, total: storage + requests + retrieval + egress };
  }

  /** The one-off cost of moving from `from` to `to` after `daysAtSource` days there. */
  move(from: number, to: number, sizeBytes: number, daysAtSource: number): MoveCost {
    if (from === to) return { transfer: 0, early_deletion: 0, total: 0 };
    const parts = Math.max(1, Math.ceil(sizeBytes / PART_BYTES));
    const transfer =
      (sizeBytes / GB) * this.moveGb[from * PLACEMENTS.length + to]! +
      parts * (this.readReq[from]! + this.writeReq[to]!);
    const early_deletion = this.earlyDeletion(from, sizeBytes, daysAtSource);
    return { transfer, early_deletion, total: transfer + early_deletion };
  }

  moveTotal(from: number, to: number, sizeBytes: number, daysAtSource: number): number {
    if (from === to) return 0;
    const parts = Math.max(1, Math.ceil(sizeBytes / PART_BYTES));
    return (
      (sizeBytes / GB) * this.moveGb[from * PLACEMENTS.length + to]! +
      parts * (this.readReq[from]! + this.writeReq[to]!) +
      this.earlyDeletion(from, sizeBytes, daysAtSource)
    );
  }

  earlyDeletion(pi: number, sizeBytes: number, daysThere: number): number {
    const owed = this.minDays[pi]! - daysThere;
    return owed > 0 ? this.storage(pi, sizeBytes, owed) : 0;
  }

  minStorageDays(pi: number): number {
    return this.minDays[pi]!;
  }
}
