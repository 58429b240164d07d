/**
 * The replay trace: a catalog of datasets and a time-ordered stream of access events, the
 * input of `npm run simulate`. On disk a trace is two files: `<name>.catalog.json` (a
 * TraceCatalog) and `<name>.jsonl` (one TraceEvent per line, ordered by ts).
 */
import type { Location, Tier } from '../placements';

export interface TraceDataset {
  /** Unique within the trace; events refer to datasets by this name. */
  name: string;
  size_bytes: number;
  /** ms since the epoch; no event of the dataset comes before it. */
  created_at: number;
  /** Where the dataset starts; defaults to the product's default placement (PRIVATE / WARM). */
  location?: Location;
  tier?: Tier;
}

export interface TraceCatalog {
  workload: string;
  description: string;
  /** ms since the epoch: the replay starts here... */
  start: number;
  /** ...and runs for this many days. */
  days: number;
  datasets: TraceDataset[];
}

export interface TraceEvent {
  /** ms since the epoch, start <= ts < start + days. */
  ts: number;
  dataset: string;
  type: 'read' | 'write';
  bytes: number;
  /** A full sequential pass (a backup, an antivirus sweep): it must never warm a dataset. */
  scan?: boolean;
}

/**
 * What a generator expects of each dataset day by day, from its own intensities (not from the
 * events it drew). Arrays are per dataset and day, index i * days + d.
 */
export interface ExpectedUse {
  reads: Float64Array;
  /** Expected bytes read (reads times the expected bytes of one read). */
  bytes: Float64Array;
  writes: Float64Array;
  /**
   * 1 where the dataset's expectation is given: its accesses are Poisson processes with known
   * rates or fixed schedules, so its past says nothing more about its future. 0 where the future
   * depends on the past (a read-once dataset's second read follows its first); those rows are 0.
   */
  known: Uint8Array;
}

/** A workload held in memory: its catalog and its events in time order. */
export interface Trace {
  catalog: TraceCatalog;
  events(): Iterable<TraceEvent>;
  /** Only for generated workloads. */
  expected?(): ExpectedUse;
}
