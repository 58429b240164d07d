import type { CostModel, HoldCost, MoveCost, Usage } from './cost';
import { features, N_FEATURES, type FeatureView, type StatsSnapshot } from './features';
import { PLACEMENTS, placementIndex, type Placement } from './placements';
import type { Predictor } from './predictor';

const DAY = 86_400_000;
const MIB = 1024 * 1024;
/**
 * See usage(): the prior that a dataset's mean bytes per read is shrunk toward, weighted as this
 * many reads. `share` is the share of the size a read is taken to touch until the fleet's own
 * share has been learnt (ReadShareEstimator).
 */
export const BYTES_PER_READ_PRIOR = { reads: 20, share: 0.25 } as const;
/** The fleet's read share is trusted once this many non-scan reads have been seen. */
export const READ_SHARE_MIN_READS = 1_000;

/**
 * The fleet's bytes per read as a share of the size, learnt from the statistics: Σ bytes read by
 * non-scan reads / Σ (non-scan reads × size). Weighted by reads and size alike, as a wrong guess
 * costs. One pass over the datasets (the scheduler's scan, a replay's step) feeds it.
 */
export class ReadShareEstimator implements ReadShareTotals {
  bytes = 0;
  readSize = 0;
  reads = 0;

  /** One dataset's totals: reads (scans included), scans, bytes read, and its size. */
  add(reads: number, scans: number, bytesRead: number, sizeBytes: number): void {
    const warmReads = Math.max(0, reads - scans);
    if (warmReads === 0 || !(sizeBytes > 0)) return;
    const warmBytes = Math.max(0, bytesRead - scans * sizeBytes);
    // Events may leave out their bytes (they then count 0): a dataset whose reads reported none
    // says nothing about read sizes, and would drag the share toward zero.
    if (warmBytes === 0) return;
    const readSize = warmReads * sizeBytes;
    this.bytes += Math.min(readSize, warmBytes);
    this.readSize += readSize;
    this.reads += warmReads;
  }

  /** The learnt share, or null while fewer than READ_SHARE_MIN_READS reads were seen. */
  value(): number | null {
    return ReadShareEstimator.share(this);
  }

  /** The same from totals summed elsewhere (the scheduler sums them in SQL, see TieringRepository.readShareTotals). */
  static share(t: ReadShareTotals): number | null {
    if (t.reads < READ_SHARE_MIN_READS || !(t.readSize > 0)) return null;
    return Math.min(1, Math.max(1e-6, t.bytes / t.readSize));
  }
}

/** Σ bytes of non-scan reads (each dataset's at most reads × size), Σ non-scan reads × size, Σ non-scan reads. */
export interface ReadShareTotals {
  bytes: number;
  readSize: number;
  reads: number;
}

/** How the scheduler weighs a move. */
export interface PolicySettings {
  /** The forecast and the costs look this far ahead. */
  horizonDays: number;
  /** A move must save (1 + hysteresis) × its own cost over the horizon. */
  hysteresis: number;
  /** A move must save at least this much per month. */
  minSavingPerMonth: number;
  /** No move for a dataset within this long of its last one. */
  cooldownMs: number;
  /** Placements slower to the first byte are ruled out, unless a dataset says otherwise (null: none). */
  defaultMaxLatencyMs: number | null;
  /** Per run: at most this many bytes and moves handed to the queue. */
  budgetBytes: number;
  budgetMoves: number;
  /**
   * Until the model has learnt from this many matured forecasts, only data idle for a whole
   * horizon is moved to cheaper storage (a demotion bets on the forecast; minimum durations and
   * retrieval fees make a wrong bet dear). Promotions and pins go ahead.
   */
  minModelUpdates: number;
  /** See decide(): the extra weight on the use of a placement whose access is dearer. */
  demotionRisk: number;
}

export const DEFAULT_POLICY: PolicySettings = {
  hysteresis: 2,
  minSavingPerMonth: 0.001,
  cooldownMs: DAY,
  defaultMaxLatencyMs: 1_000,
  budgetBytes: 10 * 1024 ** 4,
  budgetMoves: 10_000,
  minModelUpdates: 1_000,
  demotionRisk: 2,
  horizonDays: 30,
};

export type PolicyMode = 'auto' | 'pinned' | 'never-tier';

/** A dataset's own policy. */
export interface DatasetPolicy {
  mode: PolicyMode;
  /** With mode pinned: where it must stay. */
  pin: Placement | null;
  /** Rules out placements slower than this; null means the global default. */
  maxLatencyMs: number | null;
}

export const AUTO: DatasetPolicy = { mode: 'auto', pin: null, maxLatencyMs: null };

export interface DecisionInput {
  datasetId: number;
  current: Placement;
  /** When the dataset arrived at its current placement (creation or its last move). */
  placedAt: number;
  /** Its last move (null if it never moved): the cooldown counts from here. */
  lastMoveAt: number | null;
  sizeBytes: number;
  stats: StatsSnapshot;
  policy: DatasetPolicy;
  /** A move is already queued or running for it. */
  moving: boolean;
}

/** Why a better placement was not taken now. */
export type HoldRule =
  'pin' | 'never-tier' | 'in-flight' | 'cooldown' | 'learning' | 'hysteresis' | 'min-saving' | 'budget';

/** One placement's price for the dataset over the horizon, for explanations. */
export interface Candidate {
  placement: Placement;
  /** Ruled out by latency or policy (the reason), or null when allowed. */
  excluded: string | null;
  hold: HoldCost;
  move: MoveCost;
  /** hold + move over the horizon. */
  total: number;
}

export interface Forecast {
  /** Non-scan accesses expected over the horizon, by the model. */
  accesses: number;
  reads: number;
  writes: number;
  scans: number;
  read_bytes: number;
}

export interface Decision {
  datasetId: number;
  action: 'stay' | 'move' | 'held';
  from: Placement;
  /** The cheapest allowed placement (where a move would go). */
  to: Placement;
  rule: HoldRule | null;
  horizonDays: number;
  forecast: Forecast;
  features: FeatureView;
  /** Monthly cost where it is, and at the target (storage + use, without the move). */
  costNowPerMonth: number;
  costTargetPerMonth: number;
  savingPerMonth: number;
  moveCost: number;
  /** Days for the saving to pay the move back (null when there is no saving). */
  breakEvenDays: number | null;
  /** A promotion (to a faster placement) of data in use goes before other moves. */
  promotion: boolean;
  /** What the costs were computed from, so the explanation can show every candidate. */
  usage: Usage;
  sizeBytes: number;
  daysHere: number;
  /** Bit i set: placement i was ruled out (see excludedReason). */
  excludedMask: number;
  maxLatencyMs: number | null;
  policyMode: PolicyMode;
}

/**
 * The product's policy: forecast the dataset's use, price every placement over the horizon
 * (storage, requests, retrieval, egress, plus the move there), and pick the cheapest allowed one.
 * A move is proposed only when it pays for itself with a margin; the caller applies the per-run
 * budget (see applyBudget). Pure: the same inputs give the same decision, live or in a replay.
 */
export class TieringPolicy {
  private readonly x = new Float64Array(N_FEATURES);

  constructor(
    readonly cost: CostModel,
    readonly predictor: Predictor,
    readonly settings: PolicySettings,
    /** The share of its size a read is expected to touch, before a dataset's own reads say (see ReadShareEstimator). */
    public readShare: number = BYTES_PER_READ_PRIOR.share,
  ) {}

  /** The expected use over the horizon, from the model's forecast and the dataset's history. */
  usage(
    stats: StatsSnapshot,
    sizeBytes: number,
    now: number,
  ): { forecast: Forecast; features: FeatureView; usage: Usage } {
    const H = this.settings.horizonDays;
    // The model forecasts its own label window; the horizon repeats that window's rate (for
    // data that keeps cooling this errs high, which only makes demotions more careful).
    const L = this.predictor.horizonDays;
    const view = features(stats, now, L, this.x);
    const accesses = this.predictor.predict(this.x) * (H / L);
    const warmReads = Math.max(0, stats.reads - stats.scans);
    const warm = warmReads + stats.writes;
    const readShare = warm > 0 ? warmReads / warm : 0.9;
    const reads = accesses * readShare;
    const writes = accesses - reads;
    const scanBytes = stats.scans * sizeBytes;
    // Reads touch parts of a dataset of very different sizes, and the rare whole read carries
    // most of the bytes: the mean of a few observed reads usually falls short of what reads
    // cost on average, and a demotion priced on it is then read back dear. The mean is shrunk
    // toward the fleet's read share of the size (learnt, see ReadShareEstimator), as if
    // BYTES_PER_READ_PRIOR.reads reads of that share had been seen too: a dataset's own mean
    // decides once it has many more reads than that. (Replay: month-end went from 1.006× to
    // 1.000× the S3-IT-like rule with a weight of 2; 20 with the learnt share, see BENCHMARKS.md.)
    // Data never read keeps a small prior: its forecast reads are near zero anyway, and a
    // whole-size prior there cost more in replay.
    // Reads whose events left out their bytes count 0 bytes: when none reported any, the
    // prior alone prices them.
    const prior = BYTES_PER_READ_PRIOR.reads;
    const warmBytes = Math.max(0, stats.bytesRead - scanBytes);
    const bytesPerRead =
      warmReads === 0
        ? Math.min(sizeBytes, 64 * MIB)
        : warmBytes === 0
          ? this.readShare * sizeBytes
          : Math.min(sizeBytes, (warmBytes + prior * this.readShare * sizeBytes) / (warmReads + prior));
    const scans = view.scans_per_day * H;
    const readBytes = reads * bytesPerRead + scans * sizeBytes;
    return {
      forecast: { accesses, reads, writes, scans, read_bytes: readBytes },
      features: view,
      usage: { reads: reads + scans, readBytes, writes, writeBytes: 0 },
    };
  }

  decide(input: DecisionInput, now: number): Decision {
    const { settings, cost } = this;
    const H = settings.horizonDays;
    const { forecast, features: view, usage } = this.usage(input.stats, input.sizeBytes, now);
    const cur = placementIndex(input.current);
    const daysHere = Math.max(0, (now - input.placedAt) / DAY);
    const maxLatency = input.policy.maxLatencyMs ?? settings.defaultMaxLatencyMs;
    const pin = input.policy.mode === 'pinned' && input.policy.pin ? placementIndex(input.policy.pin) : -1;

    // A placement with dearer access than here is priced as if use came out (1 + risk) times
    // the forecast: forecasts of rarely used data err low more often than high (a dataset
    // predicted idle is read after all, a month-end report comes round again), and there a
    // surprise costs retrieval fees. The surprise is at most a return to the dataset's long-run
    // rate (its 30-day or lifetime rate, whichever is higher): where the forecast is already at
    // that rate, as for steady use, the risk is the forecast's own and no margin is added.
    // (Replay, with the read-share prior and hysteresis 2: zipf 0.825 → 0.785× S3-IT, cycles
    // 0.964 → 0.953×, month-end 1.000 → 0.999×; see BENCHMARKS.md.)
    const longRun = Math.max(view.rate_per_day_30d, view.rate_per_day_lifetime) * H;
    const f = forecast.accesses;
    const risk =
      f > 0 ? Math.min(settings.demotionRisk, Math.max(0, longRun / f - 1)) : longRun > 0 ? settings.demotionRisk : 0;
    // The hot path: totals only, no objects (a run prices nine placements of every dataset).
    let best = cur;
    let bestTotal = Infinity;
    let excludedMask = 0;
    const size = input.sizeBytes;
    for (let i = 0; i < PLACEMENTS.length; i++) {
      const hold = cost.hold(i, size, usage, H);
      this.holdTotals[i] = hold;
      if (excludedReason(i, cur, pin, input.policy.mode, maxLatency, cost.firstByteMs[i]!) !== null) {
        excludedMask |= 1 << i;
        continue;
      }
      const access = hold - cost.storage(i, size, H);
      const dearer = cost.retrieval[i]! + cost.readEgress[i]! > cost.retrieval[cur]! + cost.readEgress[cur]!;
      const total = hold + (dearer ? access * risk : 0) + cost.moveTotal(cur, i, size, daysHere);
      if (total < bestTotal || (total === bestTotal && i === cur)) {
        best = i;
        bestTotal = total;
      }
    }
    if (pin >= 0) best = pin;

    const perMonth = 30 / H;
    const saving = this.holdTotals[cur]! - this.holdTotals[best]!;
    const moveCost = cost.moveTotal(cur, best, size, daysHere);
    const decision: Decision = {
      datasetId: input.datasetId,
      action: 'stay',
      from: input.current,
      to: PLACEMENTS[best]!,
      rule: null,
      horizonDays: H,
      forecast,
      features: view,
      costNowPerMonth: this.holdTotals[cur]! * perMonth,
      costTargetPerMonth: this.holdTotals[best]! * perMonth,
      savingPerMonth: saving * perMonth,
      moveCost,
      breakEvenDays: saving > 0 ? moveCost / (saving / H) : null,
      promotion: cost.firstByteMs[best]! < cost.firstByteMs[cur]! && forecast.accesses >= 1,
      usage,
      sizeBytes: size,
      daysHere,
      excludedMask,
      maxLatencyMs: maxLatency,
      policyMode: input.policy.mode,
    };
    if (best === cur) {
      if (input.policy.mode !== 'auto') decision.rule = input.policy.mode === 'pinned' ? 'pin' : 'never-tier';
      return decision;
    }
    const held = (rule: HoldRule): Decision => {
      decision.action = 'held';
      decision.rule = rule;
      return decision;
    };
    if (input.moving) return held('in-flight');
    if (pin >= 0) {
      decision.action = 'move';
      decision.rule = 'pin';
      return decision;
    }
    if (input.lastMoveAt !== null && now - input.lastMoveAt < settings.cooldownMs) return held('cooldown');
    // While the model is still learning, only data idle for a whole horizon is demoted: the
    // rule the S3 Intelligent-Tiering and FabricPool baselines follow all the time.
    if (
      this.predictor.updates < settings.minModelUpdates &&
      cost.storageDay[best]! < cost.storageDay[cur]! &&
      view.days_idle < H
    )
      return held('learning');
    if (saving <= 0 || saving < (1 + settings.hysteresis) * moveCost) return held('hysteresis');
    if (saving * perMonth < settings.minSavingPerMonth) return held('min-saving');
    decision.action = 'move';
    return decision;
  }

  private readonly holdTotals = new Float64Array(PLACEMENTS.length);

  /** Every placement's price for a decision, as its explanation shows them. */
  candidates(d: Decision): Candidate[] {
    const cur = placementIndex(d.from);
    return PLACEMENTS.map((placement, i) => {
      const hold = this.cost.holdBreakdown(i, d.sizeBytes, d.usage, d.horizonDays);
      const move = this.cost.move(cur, i, d.sizeBytes, d.daysHere);
      const excluded = d.excludedMask & (1 << i) ? excludedText(i, cur, d, this.cost.firstByteMs[i]!) : null;
      return { placement, excluded, hold, move, total: hold.total + move.total };
    });
  }
}

function excludedReason(
  i: number,
  cur: number,
  pin: number,
  mode: PolicyMode,
  maxLatency: number | null,
  firstByteMs: number,
): string | null {
  if (i === cur) return null;
  if (pin >= 0 && i !== pin) return 'pinned elsewhere';
  if (mode === 'never-tier') return 'never-tier';
  if (maxLatency !== null && firstByteMs > maxLatency) return 'latency';
  return null;
}

function excludedText(i: number, cur: number, d: Decision, firstByteMs: number): string {
  const r = excludedReason(
    i,
    cur,
    d.policyMode === 'pinned' ? placementIndex(d.to) : -1,
    d.policyMode,
    d.maxLatencyMs,
    firstByteMs,
  );
  return r === 'latency'
    ? `first byte in ${firstByteMs} ms, slower than the ${d.maxLatencyMs} ms required`
    : (r ?? 'ruled out');
}

/** The order moves go in: pins, then promotions of data in use (busiest first), then by saving. */
export function moveOrder(a: Decision, b: Decision): number {
  if ((a.rule === 'pin') !== (b.rule === 'pin')) return a.rule === 'pin' ? -1 : 1;
  if (a.promotion !== b.promotion) return a.promotion ? -1 : 1;
  if (a.promotion) return b.forecast.accesses - a.forecast.accesses;
  return b.savingPerMonth - a.savingPerMonth;
}

/**
 * The first `k` items by an order, kept while a stream goes by (a binary heap whose root is the
 * worst kept item): memory stays at k items however many are offered. offer() returns the item
 * that fell out (the one offered, or one it displaced), or undefined.
 */
export class TopK<T> {
  private readonly heap: T[] = [];
  constructor(
    private readonly k: number,
    /** Negative when a goes before b. */
    private readonly order: (a: T, b: T) => number,
  ) {}

  offer(item: T): T | undefined {
    const h = this.heap;
    if (h.length < this.k) {
      h.push(item);
      this.up(h.length - 1);
      return undefined;
    }
    if (this.k === 0 || this.order(item, h[0]!) >= 0) return item;
    const out = h[0]!;
    h[0] = item;
    this.down(0);
    return out;
  }

  /** The kept items, in order. */
  sorted(): T[] {
    return [...this.heap].sort(this.order);
  }

  // The root is the item that goes last (the "largest" by order).
  private worse(i: number, j: number): boolean {
    return this.order(this.heap[i]!, this.heap[j]!) > 0;
  }
  private up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.worse(i, p)) break;
      [this.heap[i], this.heap[p]] = [this.heap[p]!, this.heap[i]!];
      i = p;
    }
  }
  private down(i: number): void {
    const n = this.heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let w = i;
      if (l < n && this.worse(l, w)) w = l;
      if (r < n && this.worse(r, w)) w = r;
      if (w === i) return;
      [this.heap[i], this.heap[w]] = [this.heap[w]!, this.heap[i]!];
      i = w;
    }
  }
}

/**
 * Applies a run's budget to its proposed moves: promotions of data in use first (most expected
 * accesses first), then the rest by saving per month. Moves beyond the budget are held with the
 * rule 'budget'. Returns the moves to carry out, in order.
 */
export function applyBudget(
  decisions: Decision[],
  sizeOf: (d: Decision) => number,
  settings: Pick<PolicySettings, 'budgetBytes' | 'budgetMoves'>,
): Decision[] {
  const proposed = decisions.filter((d) => d.action === 'move');
  proposed.sort(moveOrder);
  const out: Decision[] = [];
  let bytes = 0;
  for (const d of proposed) {
    const size = sizeOf(d);
    if (out.length >= settings.budgetMoves || bytes + size > settings.budgetBytes) {
      d.action = 'held';
      d.rule = 'budget';
      continue;
    }
    bytes += size;
    out.push(d);
  }
  return out;
}
