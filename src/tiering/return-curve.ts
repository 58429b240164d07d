/**
 * Whether data that has been used and gone quiet comes back: the fleet's own life table of idle
 * spells, learnt from the statistics between two of the scheduler's passes, so it speaks within
 * a day of an installation, where the model's 30-day labels take a month (issue 13: no cliff at
 * the learning gate).
 *
 * At each pass the datasets written here (bornWatched: their whole life is in the statistics)
 * and read at least once are counted by how many accesses they have had (a class) and how long
 * they have been idle (a bin). A dataset idle d days at one pass is idle d + Δ at the next unless
 * it was used between them, and its class changes only with a use: so the datasets of a bin
 * that are missing from the same bin shifted by Δ came back (or were deleted, which errs on the
 * side of holding). Returns over dataset-days of exposure is the daily hazard of coming back
 * after that long idle, per class.
 *
 * Over the horizon the chance of a return is 1 − exp(−Σ hazard). A bin's hazard is its returns
 * plus one over its exposure, so a bin seen little is priced as risky (with 200 quiet
 * dataset-days, 0.5% a day: 14% over 30 days). Past the last bin the fleet has seen enough of,
 * the hazard is that bin's: a population of readers of many rates comes back less the longer it
 * has been idle, so the last seen hazard is an upper bound on the ones after it. A periodic
 * reader whose period the fleet has not yet lived breaks that bound; data with a past the product
 * has not seen is held until its own statistics cover a horizon (watch.ts), and a monthly reader
 * written here is read within its first month, which the classes then tell apart.
 */
import type { StatsSnapshot } from './features';
import { wasBornWatched } from './watch';

const DAY = 86_400_000;

/** Idle bins in days (the last runs on without end). Finest where hand-offs are read again. */
export const RETURN_IDLE_EDGES = [0, 0.5, 1, 2, 3, 4, 5, 7, 10, 14, 21, 30, 45, 60, 90, 120, 180] as const;
/** Classes by non-scan accesses so far (the creating write included): 2, 3, 4-5, 6-9, 10-17, 18-33, 34 and more. */
export const RETURN_CLASS_EDGES = [0, 3, 4, 6, 10, 18, 34] as const;
const BINS = RETURN_IDLE_EDGES.length;
const CLASSES = RETURN_CLASS_EDGES.length;
/** A bin speaks for its idle days once the fleet has spent this many dataset-days in it. */
export const RETURN_MIN_EXPOSURE = 100;

/** What the fleet has shown so far, per class × bin (row-major); kept across restarts. */
export interface ReturnCurveState {
  /** The last pass's census: when, and how many datasets each class × bin held. */
  at: number | null;
  census: number[];
  /** Dataset-days spent in each class × bin, and how many of them came back from it. */
  exposure: number[];
  returns: number[];
}

function binOf(idleDays: number): number {
  let b = 0;
  while (b < BINS - 1 && idleDays >= RETURN_IDLE_EDGES[b + 1]!) b++;
  return b;
}

function classOf(accesses: number): number {
  let c = 0;
  while (c < CLASSES - 1 && accesses >= RETURN_CLASS_EDGES[c + 1]!) c++;
  return c;
}

/** The class of a dataset the curve speaks for (written here, read since), or -1. */
export function returnClass(s: StatsSnapshot): number {
  return classOfCounts(s.reads, s.writes, s.scans, s.createdAt, s.firstAccess, s.decayAt);
}

function classOfCounts(
  reads: number,
  writes: number,
  scans: number,
  createdAt: number,
  firstAccess: number | null,
  decayAt: number,
): number {
  if (reads - scans < 1 || decayAt <= 0 || !wasBornWatched(writes, firstAccess, createdAt)) return -1;
  return classOf(reads + writes - scans);
}

/** One pass's count of the datasets, with those still idle since the previous pass. */
export class ReturnCensus {
  readonly census = new Float64Array(CLASSES * BINS);
  /** Per class × the previous pass's bin: datasets still idle since then. */
  readonly stayed = new Float64Array(CLASSES * BINS);

  constructor(
    readonly now: number,
    /** The previous pass (null: none), so the bins it counted can be followed. */
    readonly since: number | null,
  ) {}

  add(s: StatsSnapshot): void {
    this.count(s.reads, s.writes, s.scans, s.createdAt, s.firstAccess, s.decayAt);
  }

  /** add() from the counts themselves (the scheduler's scan counts every row without a snapshot). */
  count(
    reads: number,
    writes: number,
    scans: number,
    createdAt: number,
    firstAccess: number | null,
    decayAt: number,
  ): void {
    const c = classOfCounts(reads, writes, scans, createdAt, firstAccess, decayAt);
    if (c < 0) return;
    this.census[c * BINS + binOf((this.now - decayAt) / DAY)]!++;
    // Used before the last pass and not since: it was counted then, in the bin of its idle time then.
    if (this.since !== null && decayAt <= this.since) this.stayed[c * BINS + binOf((this.since - decayAt) / DAY)]!++;
  }
}

export class ReturnCurve {
  private readonly exposure: Float64Array;
  private readonly returns: Float64Array;
  private census: Float64Array;
  private at: number | null;

  constructor(state?: ReturnCurveState) {
    const n = CLASSES * BINS;
    const ok = state !== undefined && state.exposure.length === n && state.returns.length === n;
    this.exposure = ok ? Float64Array.from(state.exposure) : new Float64Array(n);
    this.returns = ok ? Float64Array.from(state.returns) : new Float64Array(n);
    this.census = ok && state.census.length === n ? Float64Array.from(state.census) : new Float64Array(n);
    this.at = ok && state.census.length === n ? state.at : null;
  }

  /** A census for a pass at `now`, to fill and hand to learn(). */
  begin(now: number): ReturnCensus {
    return new ReturnCensus(now, this.at !== null && this.at < now ? this.at : null);
  }

  /** Folds a finished pass in: who stayed idle since the last pass and who came back. */
  learn(c: ReturnCensus): void {
    if (c.since !== null && c.since === this.at) {
      const days = (c.now - c.since) / DAY;
      for (let k = 0; k < this.census.length; k++) {
        const before = this.census[k]!;
        const stayed = Math.min(before, c.stayed[k]!);
        // Those who came back were exposed half the interval on average.
        this.exposure[k]! += ((before + stayed) / 2) * days;
        this.returns[k]! += before - stayed;
      }
    }
    this.census = Float64Array.from(c.census);
    this.at = c.now;
  }

  /** The daily hazard of coming back at a bin of a class, or null where the fleet has seen too little. */
  private hazard(c: number, b: number): number | null {
    const e = this.exposure[c * BINS + b]!;
    return e >= RETURN_MIN_EXPOSURE ? (this.returns[c * BINS + b]! + 1) / e : null;
  }

  /**
   * The expected returns of data of class `c`, idle `idleDays`, over the next `horizonDays`
   * (Σ of the daily hazards, the bins past the last one seen enough at its hazard); null while
   * the fleet has not seen enough of its current bin.
   */
  expectedReturns(c: number, idleDays: number, horizonDays: number): number | null {
    let b = binOf(idleDays);
    let h = this.hazard(c, b);
    if (h === null) return null;
    let sum = 0;
    let from = idleDays;
    const to = idleDays + horizonDays;
    while (from < to) {
      const edge = b < BINS - 1 ? RETURN_IDLE_EDGES[b + 1]! : Infinity;
      const upto = Math.min(edge, to);
      sum += h * (upto - from);
      from = upto;
      if (b < BINS - 1) {
        b++;
        h = this.hazard(c, b) ?? h;
      }
    }
    return sum;
  }

  /** expectedReturns for a dataset, or null where the curve does not speak for it (see returnClass). */
  forecast(s: StatsSnapshot, idleDays: number, horizonDays: number): number | null {
    const c = returnClass(s);
    return c < 0 ? null : this.expectedReturns(c, idleDays, horizonDays);
  }

  state(): ReturnCurveState {
    return {
      at: this.at,
      census: Array.from(this.census),
      exposure: Array.from(this.exposure),
      returns: Array.from(this.returns),
    };
  }
}
