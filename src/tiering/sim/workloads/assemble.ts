/**
 * A workload from its populations: options resolved and checked, datasets split between the
 * populations, the catalog drawn once, events drawn day by day (see index.ts for the rules that
 * keep a seed's trace the same).
 */
import type { ExpectedUse, Trace, TraceCatalog, TraceEvent } from '../trace';
import { DAY_MS, type DayWindow, type PopulationBuilder } from './helpers';
import { Rng } from './rng';

export interface GenerateOptions {
  /** PRNG seed (an integer); default 1. */
  seed?: number;
  /** Number of datasets; default 10,000. */
  datasets?: number;
  /** Length of the trace in days; default 180. */
  days?: number;
  /** ms since the epoch; default 2025-01-01T00:00:00Z. Calendars (hours, weekdays, month ends) are UTC. */
  start?: number;
}

export interface WorkloadSpec {
  name: string;
  /** One or two sentences for `--help`. */
  description: string;
  generate(opts?: GenerateOptions): Trace;
}

export const DEFAULT_START = Date.UTC(2025, 0, 1);
export const DEFAULT_OPTIONS: Readonly<Required<GenerateOptions>> = {
  seed: 1,
  datasets: 10_000,
  days: 180,
  start: DEFAULT_START,
};

function resolveOptions(opts: GenerateOptions = {}): Required<GenerateOptions> {
  const o = { ...DEFAULT_OPTIONS, ...stripUndefined(opts) };
  if (!Number.isSafeInteger(o.seed)) throw new Error(`seed: must be an integer, got ${o.seed}`);
  if (!Number.isSafeInteger(o.datasets) || o.datasets < 1)
    throw new Error(`datasets: must be a positive integer, got ${o.datasets}`);
  if (!Number.isSafeInteger(o.days) || o.days < 1) throw new Error(`days: must be a positive integer, got ${o.days}`);
  if (!Number.isSafeInteger(o.start)) throw new Error(`start: must be integer ms since the epoch, got ${o.start}`);
  return o;
}

function stripUndefined(opts: GenerateOptions): GenerateOptions {
  return Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
}

/** Splits n into parts proportional to shares (largest remainder, ties to the earlier part). */
function apportion(n: number, shares: readonly number[]): number[] {
  const total = shares.reduce((s, x) => s + x, 0);
  const exact = shares.map((s) => (n * s) / total);
  const parts = exact.map(Math.floor);
  const order = exact.map((x, i) => ({ i, rem: x - Math.floor(x) })).sort((a, b) => b.rem - a.rem || a.i - b.i);
  for (let j = 0; j < n - parts.reduce((s, x) => s + x, 0); j++) parts[order[j]!.i]!++;
  return parts;
}

/** Builds a trace from populations that split the datasets in the given shares. */
export function assemble(
  name: string,
  description: string,
  opts: GenerateOptions | undefined,
  parts: ReadonlyArray<{ prefix: string; share: number; build: PopulationBuilder }>,
): Trace {
  const { seed, datasets, days, start } = resolveOptions(opts);
  const end = start + days * DAY_MS;
  const rng = new Rng(seed, 0);
  const counts = apportion(
    datasets,
    parts.map((p) => p.share),
  );
  const populations = parts.map((p, j) => p.build({ rng, count: counts[j]!, prefix: p.prefix, start, days, end }));
  const catalog: TraceCatalog = {
    workload: name,
    description,
    start,
    days,
    datasets: populations.flatMap((p) => p.datasets),
  };
  const expected = (): ExpectedUse => {
    const n = catalog.datasets.length;
    const use: ExpectedUse = {
      reads: new Float64Array(n * days),
      bytes: new Float64Array(n * days),
      writes: new Float64Array(n * days),
      known: new Uint8Array(n),
    };
    let first = 0;
    for (const p of populations) {
      if (p.expectDay) {
        use.known.fill(1, first, first + p.datasets.length);
        for (let d = 0; d < days; d++) {
          const day: DayWindow = { index: d, start: start + d * DAY_MS, end: start + (d + 1) * DAY_MS };
          p.expectDay(day, (i, reads, bytesRead, writes) => {
            const at = (first + i) * days + d;
            use.reads[at]! += reads;
            use.bytes[at]! += bytesRead;
            use.writes[at]! += writes;
          });
        }
      }
      first += p.datasets.length;
    }
    return use;
  };
  return {
    catalog,
    expected,
    *events(): Generator<TraceEvent> {
      for (let d = 0; d < days; d++) {
        const day: DayWindow = { index: d, start: start + d * DAY_MS, end: start + (d + 1) * DAY_MS };
        const r = new Rng(seed, 1 + d);
        const out: TraceEvent[] = [];
        for (const p of populations) p.emitDay(day, r, out);
        out.sort((a, b) => a.ts - b.ts); // stable: ties keep generation order (a creation write before its reads)
        yield* out;
      }
    },
  };
}
