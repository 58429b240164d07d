/** The statistics a replay keeps per dataset, as the live pipeline keeps them, and the view policies read them through. */
import {
  HALF_LIVES,
  addLargeRead,
  addReadPhase,
  decayTo,
  noLargeReads,
  noReadPhases,
  type LargeReads,
  type ReadPhases,
} from '../../analytics';
import type { StatsSnapshot } from '../features';
import type { TraceEvent } from './trace';
import type { SimView } from './types';

const HOUR = 3_600_000;

/** A decayed sum as the pipeline merges it: referenced at the latest non-scan access. */
function decayed(value: number, at: number, atNew: number, ts: number, halfLife: number): number {
  return decayTo({ at, value }, atNew, halfLife) + Math.pow(2, -(atNew - ts) / halfLife);
}

export class SimStats {
  readonly reads: Float64Array;
  readonly writes: Float64Array;
  readonly scans: Float64Array;
  readonly bytesRead: Float64Array;
  private readonly firstAccess: Float64Array;
  private readonly lastAny: Float64Array;
  private readonly decayAt: Float64Array;
  private readonly d1h: Float64Array;
  private readonly d1d: Float64Array;
  private readonly d1w: Float64Array;
  private readonly d30: Float64Array;
  private readonly hourCounts: Float64Array;
  private readonly hourStamp: Float64Array;
  /** Large reads per dataset, counted as the stream applier counts them (src/analytics/large-reads.ts). */
  private readonly large: LargeReads[];
  /** Read phases per dataset, summed as the stream applier sums them (src/analytics/read-phases.ts). */
  private readonly phases: ReadPhases[];
  /** The replay's clock, for the hourly view. */
  now: number;
  readonly view: SimView;

  constructor(
    n: number,
    readonly size: Float64Array,
    readonly createdAt: Float64Array,
    start: number,
  ) {
    this.reads = new Float64Array(n);
    this.writes = new Float64Array(n);
    this.scans = new Float64Array(n);
    this.bytesRead = new Float64Array(n);
    this.firstAccess = new Float64Array(n).fill(NaN);
    this.lastAny = Float64Array.from(createdAt);
    this.decayAt = new Float64Array(n);
    this.d1h = new Float64Array(n);
    this.d1d = new Float64Array(n);
    this.d1w = new Float64Array(n);
    this.d30 = new Float64Array(n);
    this.hourCounts = new Float64Array(n * 24);
    this.hourStamp = new Float64Array(n * 24).fill(-1);
    this.large = Array.from({ length: n }, noLargeReads);
    this.phases = Array.from({ length: n }, noReadPhases);
    this.now = start;
    this.view = this.makeView(n);
  }

  /** Non-scan accesses so far: what a forecast's label counts. */
  warmTotal(i: number): number {
    return this.reads[i]! + this.writes[i]! - this.scans[i]!;
  }

  record(i: number, e: TraceEvent): void {
    if (Number.isNaN(this.firstAccess[i]!)) this.firstAccess[i] = e.ts;
    this.lastAny[i] = Math.max(this.lastAny[i]!, e.ts);
    if (e.type === 'read') {
      this.reads[i]!++;
      this.bytesRead[i]! += e.bytes;
      addLargeRead(this.large[i]!, e.ts, e.bytes, this.size[i]!, e.scan === true);
      addReadPhase(this.phases[i]!, e.ts, e.scan === true);
    } else this.writes[i]!++;
    if (e.scan) {
      this.scans[i]!++;
      return;
    }
    const at = this.decayAt[i]!;
    const atNew = Math.max(at, e.ts);
    this.d1h[i] = decayed(this.d1h[i]!, at, atNew, e.ts, HALF_LIVES['1h']);
    this.d1d[i] = decayed(this.d1d[i]!, at, atNew, e.ts, HALF_LIVES['1d']);
    this.d1w[i] = decayed(this.d1w[i]!, at, atNew, e.ts, HALF_LIVES['1w']);
    this.d30[i] = decayed(this.d30[i]!, at, atNew, e.ts, HALF_LIVES['30d']);
    this.decayAt[i] = atNew;
    const h = Math.floor(e.ts / HOUR);
    const slot = i * 24 + (h % 24);
    if (this.hourStamp[slot] !== h) {
      this.hourStamp[slot] = h;
      this.hourCounts[slot] = 0;
    }
    this.hourCounts[slot]!++;
  }

  private makeView(n: number): SimView {
    const hourlyBuf = new Float64Array(24);
    // One snapshot object reused: a step reads every dataset's, one at a time.
    const snap: StatsSnapshot = {
      createdAt: 0,
      sizeBytes: 0,
      reads: 0,
      writes: 0,
      scans: 0,
      bytesRead: 0,
      decayAt: 0,
      decay1h: 0,
      decay1d: 0,
      decay1w: 0,
      decay30d: 0,
      firstAccess: null,
      large: { reads: 0, bytes: 0, bursts: 0, first: null, last: null, gapSq: 0 },
      phases: {
        reads: 0,
        monthCos: 0,
        monthSin: 0,
        weekCos: 0,
        weekSin: 0,
        month2Cos: 0,
        month2Sin: 0,
        week2Cos: 0,
        week2Sin: 0,
      },
    };
    const large = snap.large!;
    const phases = snap.phases!;
    return {
      n,
      size: this.size,
      createdAt: this.createdAt,
      lastAccess: (i) => this.lastAny[i]!,
      lastWarm: (i) => (this.decayAt[i]! > 0 ? this.decayAt[i]! : this.createdAt[i]!),
      hourly: (i) => {
        const nowHour = Math.floor(this.now / HOUR);
        for (let k = 0; k < 24; k++) {
          const h = nowHour - 24 + k;
          const slot = i * 24 + (h % 24);
          hourlyBuf[k] = this.hourStamp[slot] === h ? this.hourCounts[slot]! : 0;
        }
        return hourlyBuf;
      },
      snapshot: (i) => {
        snap.createdAt = this.createdAt[i]!;
        snap.sizeBytes = this.size[i]!;
        snap.reads = this.reads[i]!;
        snap.writes = this.writes[i]!;
        snap.scans = this.scans[i]!;
        snap.bytesRead = this.bytesRead[i]!;
        snap.decayAt = this.decayAt[i]!;
        snap.decay1h = this.d1h[i]!;
        snap.decay1d = this.d1d[i]!;
        snap.decay1w = this.d1w[i]!;
        snap.decay30d = this.d30[i]!;
        snap.firstAccess = Number.isNaN(this.firstAccess[i]!) ? null : this.firstAccess[i]!;
        const l = this.large[i]!;
        large.reads = l.large_reads;
        large.bytes = l.large_bytes;
        large.bursts = l.large_bursts;
        large.first = l.large_first;
        large.last = l.large_last;
        large.gapSq = l.large_gap_sq;
        const p = this.phases[i]!;
        phases.reads = p.phase_reads;
        phases.monthCos = p.phase_month_cos;
        phases.monthSin = p.phase_month_sin;
        phases.weekCos = p.phase_week_cos;
        phases.weekSin = p.phase_week_sin;
        phases.month2Cos = p.phase_month2_cos;
        phases.month2Sin = p.phase_month2_sin;
        phases.week2Cos = p.phase_week2_cos;
        phases.week2Sin = p.phase_week2_sin;
        return snap;
      },
    };
  }
}
