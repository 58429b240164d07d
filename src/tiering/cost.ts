import { priceOf, type PriceCatalog } from './catalog';
import { PLACEMENTS, type Placement, placementIndex, placementKey } from './placements';
import { classedPrice, type PlacementClasses } from './store-classes';

export type { PlacementClasses };

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
  /** A read's wait for a restore first (0 where the class reads at once). */
  readonly restoreMs: Float64Array;
  /** The S3 storage class per placement (undefined on a file store). */
  readonly storageClass: readonly (string | undefined)[];
  /** egress[from * 9 + to] per GB, including the retrieval of the source's bytes. */
  private readonly moveGb: Float64Array;

  /**
   * `classes`: the storage class each S3 placement is kept in; where it is not the one the
   * catalog's row describes, the class's retrieval fee, wait and minimums price it (store-classes.ts).
   */
  constructor(
    readonly catalog: PriceCatalog,
    classes: PlacementClasses = {},
  ) {
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
    this.restoreMs = new Float64Array(n);
    const storageClass: (string | undefined)[] = [];
    this.storageClass = storageClass;
    PLACEMENTS.forEach((p, i) => {
      const {
        price,
        storageClass: cls,
        restoreHours,
      } = classedPrice(priceOf(catalog, p), p.tier, classes[placementKey(p)]);
      storageClass.push(cls);
      this.restoreMs[i] = restoreHours * 3_600_000;
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

  /** The storage class a placement is priced by, with its read wait and retrieval fee; undefined off S3. */
  classAt(pi: number): PlacementClassView | undefined {
    const storageClass = this.storageClass[pi];
    if (storageClass === undefined) return undefined;
    return {
      storage_class: storageClass,
      restore_hours: this.restoreMs[pi]! / 3_600_000,
      retrieval_per_gb: this.retrieval[pi]!,
      first_byte_ms: this.firstByteMs[pi]!,
    };
  }
}

/** What the catalog and a decision's candidates show of a placement's storage class. */
export interface PlacementClassView {
  storage_class: string;
  /** A read waits this long for a restore first (0: it reads at once). */
  restore_hours: number;
  retrieval_per_gb: number;
  first_byte_ms: number;
}
