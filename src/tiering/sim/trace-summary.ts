/** Counts of a trace's events and bytes, as `generate` prints them. */
import type { Trace, TraceCatalog, TraceEvent } from './trace';

export interface TraceSummary {
  workload: string;
  datasets: number;
  days: number;
  events: number;
  /** Reads that are not scans. */
  reads: number;
  writes: number;
  /** Events flagged scan (reads or writes). */
  scans: number;
  /** Bytes of all events (reads, writes and scans). */
  bytes: number;
  bytes_read: number;
  bytes_written: number;
  bytes_scanned: number;
  /** Sum of the catalog's dataset sizes. */
  stored_bytes: number;
}

/** Accumulates a summary event by event (so a caller can count while it streams). */
export class SummaryCounter {
  private events = 0;
  private reads = 0;
  private writes = 0;
  private scans = 0;
  // BigInt: a season of scans over petabytes passes 2^53 bytes.
  private read = 0n;
  private written = 0n;
  private scanned = 0n;

  add(ev: TraceEvent): void {
    this.events++;
    const b = BigInt(ev.bytes);
    if (ev.scan) {
      this.scans++;
      this.scanned += b;
    } else if (ev.type === 'read') {
      this.reads++;
      this.read += b;
    } else {
      this.writes++;
      this.written += b;
    }
  }

  summary(catalog: TraceCatalog): TraceSummary {
    return {
      workload: catalog.workload,
      datasets: catalog.datasets.length,
      days: catalog.days,
      events: this.events,
      reads: this.reads,
      writes: this.writes,
      scans: this.scans,
      bytes: Number(this.read + this.written + this.scanned),
      bytes_read: Number(this.read),
      bytes_written: Number(this.written),
      bytes_scanned: Number(this.scanned),
      stored_bytes: catalog.datasets.reduce((s, d) => s + d.size_bytes, 0),
    };
  }
}

export function summarizeTrace(trace: Trace): TraceSummary {
  const counter = new SummaryCounter();
  for (const ev of trace.events()) counter.add(ev);
  return counter.summary(trace.catalog);
}
