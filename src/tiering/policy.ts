import type { CostModel, Usage } from './cost';
import type { Candidate, Decision, DecisionInput, Forecast, HoldRule, PolicySettings } from './decision';
import { excludedReason, excludedText } from './exclusion';
import { features, N_FEATURES, type FeatureView, type StatsSnapshot } from './features';
import { keptPlan, planAhead, planParts, planScratch, type PlanParts } from './plan-ahead';
import { PLACEMENTS, placementIndex } from './placements';
import type { FirstReadCurve } from './first-read';
import type { Predictor } from './predictor';
import { BYTES_PER_READ_PRIOR, bytesPerRead, largeReadBytes, readsPerAccess, timedLargeReads } from './read-share';
import { READS_PER_ACCESS_PRIOR, type ReadSplitPrior } from './read-split';
import { decayedExposure, ownEvidenceHolds, pQuietWeek, type RateEvidence } from './rate-risk';
import { historyTooShort } from './watch';
import { waitsForWindow } from './periodic';

const DAY = 86_400_000;
/**
 * Demotions to dearer access wait until a dataset is this many days old. Hand-offs are read
 * again within days (read-once: 30% 1-3 days after the first read), and a forecast made in the
 * first hour sent a 1.7 TB dataset, read 95 times that month, to COLD (the mix at half storage
 * prices). Replay, issue 13 fourth pass: read-once 0.748 → 0.604× the best simple rule at list
 * prices and 1.016 → 0.605 with COLD retrieval ×3, cooling slightly better, no cell worse.
 */
export const YOUNG_DAYS = 3;
const GB = 1024 ** 3;
/** The half-life of the decayed sum useRisk counts a dataset's recent accesses with (rate_per_day_30d's). */
const RATE_HALF_LIFE_DAYS = 30;
/** Below this chance of so quiet a week at the month's pace, the use is taken to have changed (a 5% test). */
const QUIET_WEEK_P = 0.05;

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
    /** How soon unread data is read, learnt from the fleet (null until enough datasets were counted). */
    public firstRead: FirstReadCurve | null = null,
  ) {}

  /** The share of accesses that are reads, before a dataset's own count says, learnt from the fleet (ReadSplitEstimator). */
  readSplit: ReadSplitPrior = READS_PER_ACCESS_PRIOR;

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
    const accesses = this.fleetForecast(stats, view) ?? this.predictor.predict(this.x) * (H / L);
    const readShare = readsPerAccess(stats, this.readSplit);
    const writes = accesses - accesses * readShare;
    // Bytes per read shrunk toward the fleet's read share (see bytesPerRead).
    let reads = accesses * readShare;
    let warmBytes = reads * bytesPerRead(stats, sizeBytes, this.readShare);
    // A weekly or monthly reader of large parts is timed: its next reads are due at its period,
    // whatever the forecast's rate says (see timedLargeReads).
    const timed = timedLargeReads(stats, now, H);
    const timedBytes = timed * largeReadBytes(stats, sizeBytes);
    if (timedBytes > warmBytes) {
      warmBytes = timedBytes;
      reads = Math.max(reads, timed);
    }
    const scans = view.scans_per_day * H;
    const readBytes = warmBytes + scans * sizeBytes;
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

    const { risk, promoShare } = this.margins(view, forecast.accesses);
    const size = input.sizeBytes;
    const accessHere = this.holdAccess(cur, size, usage, H);
    // The hot path: totals only, no objects (a run prices nine placements of every dataset).
    let best = cur;
    let bestTotal = Infinity;
    let excludedMask = 0;
    for (let i = 0; i < PLACEMENTS.length; i++) {
      this.holdTotals[i] = cost.hold(i, size, usage, H);
      const wait = { firstByteMs: cost.firstByteMs[i]!, restoreMs: cost.restoreMs[i]!, reads: forecast.reads };
      if (excludedReason(i, cur, pin, input.policy.mode, maxLatency, wait) !== null) excludedMask |= 1 << i;
    }
    // Each placement as a plan: the horizon there, then the cheapest way on (see plan-ahead.ts).
    const allowed = ~excludedMask & ((1 << PLACEMENTS.length) - 1);
    const trend = this.predictor.ageTrend;
    const L = this.predictor.horizonDays;
    planAhead(
      { cost, trend, usage, forecast, size, age: view.age_days, H, L, cur, daysHere, risk, allowed },
      this.plan,
    );
    const weigh = { cost, size, H, cur, daysHere, risk, promoShare };
    const parts = this.parts;
    for (let i = 0; i < PLACEMENTS.length; i++) {
      if (excludedMask & (1 << i)) continue;
      const hold = this.holdTotals[i]!;
      planParts(weigh, i, hold, accessHere, parts);
      const total = hold + parts.margin + parts.move + this.plan.wayOn[i]!;
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
      plan: keptPlan(this.plan, risk, promoShare),
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
    const rule = this.holdRule({ input, view, forecast, cur, best, saving, moveCost, now, excludedMask });
    if (rule !== null) return held(rule);
    decision.action = 'move';
    return decision;
  }

  /** Why a cheaper or better placement waits, rule by rule in order; null when the move goes ahead. */
  private holdRule(c: {
    input: DecisionInput;
    view: FeatureView;
    forecast: Forecast;
    cur: number;
    best: number;
    saving: number;
    moveCost: number;
    now: number;
    excludedMask: number;
  }): HoldRule | null {
    const { settings, cost } = this;
    const H = settings.horizonDays;
    const { input, view, forecast, cur, best, saving, moveCost, now } = c;
    const size = input.sizeBytes;
    if (input.lastMoveAt !== null && now - input.lastMoveAt < settings.cooldownMs) return 'cooldown';
    // While the model is still learning, only data idle for a whole horizon is demoted: the
    // rule the S3 Intelligent-Tiering and FabricPool baselines follow all the time.
    const cheaper = cost.storageDay[best]! < cost.storageDay[cur]!;
    const learning = this.predictor.updates < settings.minModelUpdates;
    if (cheaper && view.days_idle < H && learning && !this.fleetSure(input.stats, view, best, c.excludedMask))
      return 'learning';
    // A dataset that came with a past the product has not seen waits until its own statistics
    // cover a horizon (see historyTooShort), whatever the model has learnt from the fleet.
    if (cheaper && historyTooShort(input.stats, view.days_idle, now, H)) return 'short-history';
    // Data seen for only a few days has rates over windows it has not lived (a 1-week sum over
    // hours), and the forecast for it is the model's weakest: a demotion to dearer access waits
    // until YOUNG_DAYS have passed. A move to storage that is only cheaper goes ahead.
    const dearerAccess = cost.retrieval[best]! + cost.readEgress[best]! > cost.retrieval[cur]! + cost.readEgress[cur]!;
    if (cheaper && dearerAccess && view.age_days < YOUNG_DAYS) return 'young';
    const atRisk = cheaper && input.stats.reads - input.stats.scans <= 0 ? this.unreadRisk(view, cur, best, size) : 0;
    if (atRisk > 0 && saving - atRisk < (1 + settings.hysteresis) * moveCost) return 'unread';
    const own =
      cheaper && dearerAccess && atRisk === 0 ? this.rateEvidence(input.stats, view, forecast, cur, best, size) : null;
    if (own !== null && ownEvidenceHolds(own, saving, (1 + settings.hysteresis) * moveCost, H)) return 'uncertain';
    const window = { cost, stats: input.stats, cur, to: best, size, now, horizonDays: H, readShare: this.readShare };
    if (cheaper && dearerAccess && waitsForWindow(window)) return 'periodic';
    if (saving <= 0 || saving < (1 + settings.hysteresis) * moveCost) return 'hysteresis';
    if (saving * (30 / H) < settings.minSavingPerMonth) return 'min-saving';
    return null;
  }

  private readonly holdTotals = new Float64Array(PLACEMENTS.length);
  private readonly plan = planScratch(PLACEMENTS.length);
  private readonly parts: PlanParts = { margin: 0, move: 0 };

  /**
   * While the model learns, data written here, read since and idle less than a horizon is
   * forecast from the fleet's idle spells (ReturnCurve), which speak within days where the
   * model's labels take a month. Null where they do not apply or the fleet has seen too little.
   */
  private fleetForecast(stats: StatsSnapshot, view: FeatureView): number | null {
    const H = this.settings.horizonDays;
    if (this.predictor.updates >= this.settings.minModelUpdates || view.days_idle >= H) return null;
    return this.predictor.returns.forecast(stats, view.days_idle, H);
  }

  /**
   * The fleet's forecast opens the learning gate only for a demotion it settles: to the cheapest
   * storage allowed. A target in between is the curve's own doubt (a return not yet seen in a
   * bin the fleet has lived little), and sticky (its minimum duration, a second move): it waits
   * for the gate (replay, cooling at 10,000 datasets: data idle 23-29 days went WARM, +1.8%).
   */
  private fleetSure(stats: StatsSnapshot, view: FeatureView, best: number, excludedMask: number): boolean {
    const day = this.cost.storageDay;
    for (let i = 0; i < PLACEMENTS.length; i++) if (!(excludedMask & (1 << i)) && day[i]! < day[best]!) return false;
    return this.fleetForecast(stats, view) !== null;
  }

  /** How decide() weighs the forecast at placements with dearer and with cheaper access than the current one. */
  private margins(view: FeatureView, f: number): { risk: number; promoShare: number } {
    // A placement with dearer access than here is priced as if use came out (1 + risk) times
    // the forecast: forecasts of rarely used data err low more often than high (a dataset
    // predicted idle is read after all, a month-end report comes round again), and there a
    // surprise costs retrieval fees. The surprise is at most a return to the dataset's long-run
    // rate (its 30-day or lifetime rate, whichever is higher): where the forecast is already at
    // that rate, as for steady use, the risk is the forecast's own and no margin is added.
    // (Replay, with the read-share prior and hysteresis 2: zipf 0.825 → 0.785× S3-IT, cycles
    // 0.964 → 0.953×, month-end 1.000 → 0.999×; see BENCHMARKS.md.)
    const H = this.settings.horizonDays;
    const longRun = Math.max(view.rate_per_day_30d, view.rate_per_day_lifetime) * H;
    const risk =
      f > 0
        ? Math.min(this.settings.demotionRisk, Math.max(0, longRun / f - 1))
        : longRun > 0
          ? this.settings.demotionRisk
          : 0;
    // A placement with cheaper access than here (a promotion) saves on the reads that recent use
    // bears out: the forecast, but no more than the horizon repeating the dataset's 1-week rate.
    // The model forecasts from long-run rates too, and data idle for weeks after a busy phase, or
    // read once after months, was promoted on them and then barely read: the move back pays the
    // whole size's retrieval and early deletion. A promotion now waits for use to come back.
    // (Replay, issue 13 fourth pass: staged 1.006 → 0.959× the best simple rule on seed 2, zipf,
    // cycles and month-end × storage ×2 better too, no matrix cell worse on seeds 1 and 2.)
    const promoShare = f > 0 ? Math.min(1, (view.rate_per_day_1w * H) / f) : 1;
    return { risk, promoShare };
  }

  /** What use costs at placement `i` over `H` days, storage left out. */
  private holdAccess(i: number, size: number, usage: Usage, H: number): number {
    return this.cost.hold(i, size, usage, H) - this.cost.storage(i, size, H);
  }

  /**
   * Written, not yet read, is not never read: data lands days or weeks ahead of its readers, and
   * a model that has seen no reads forecasts none. Unread data waits a whole horizon idle, as
   * while learning (Infinity holds it; replay: staged went from 1.51x to ~1.0x the best simple
   * rule), and then its demotion is still charged with the chance that its first read comes
   * within the horizon (the fleet's own delays, FirstReadCurve) times what that read costs there
   * (comeBack): dearer retrieval holds data the fleet says may yet be read. Letting the curve
   * demote before a horizon idle cost 0.3-1.4% on staged and the mix in the matrix (issue 13).
   */
  private unreadRisk(view: FeatureView, cur: number, to: number, size: number): number {
    const H = this.settings.horizonDays;
    if (view.days_idle < H) return Infinity;
    const p = this.firstRead?.pFirstRead(view.age_days, H) ?? 0;
    return p * this.comeBack(cur, to, size, H);
  }

  /**
   * What a demotion from `cur` to `to` costs if readers come after all: one read of the fleet's
   * read share there (retrieval, egress, request) and the move back, halfway through the horizon
   * (its early deletion included). Dearer retrieval makes it dearer, so the policy waits longer.
   */
  private comeBack(cur: number, to: number, size: number, H: number): number {
    const { cost } = this;
    const read = this.readShare * size;
    const readThere =
      (read / GB) * (cost.retrieval[to]! + cost.readEgress[to]!) +
      cost.readReq[to]! -
      ((read / GB) * (cost.retrieval[cur]! + cost.readEgress[cur]!) + cost.readReq[cur]!);
    return Math.max(0, readThere) + cost.moveTotal(to, cur, size, H / 2);
  }

  /**
   * A demotion bets that use stays below its break-even: the use at which the dearer access
   * there eats the storage saved. The model's forecast is the fleet's view of data like this; the
   * dataset's own accesses of the last weeks (its 30-day decayed count) are evidence too, and a
   * count of a few is known to one over its root: two reads in a month may well be five. The
   * chance that its own rate is above the break-even (pRateAbove) times what being wrong costs
   * (comeBack: a read there and the move back, its early deletion included) is charged to the
   * demotion (ownEvidenceHolds, which also prices the saving at no more than at its own rate).
   * Only once the count covers a horizon: younger data has the young and learning holds. Null
   * where the dataset's own count has nothing to say.
   */
  private rateEvidence(
    stats: StatsSnapshot,
    view: FeatureView,
    f: Forecast,
    cur: number,
    to: number,
    size: number,
  ): RateEvidence | null {
    const H = this.settings.horizonDays;
    if (view.age_days < H || stats.reads - stats.scans < 2) return null;
    const saved = this.cost.storage(cur, size, H) - this.cost.storage(to, size, H);
    // What one access costs more there: the forecast's usage per access, or one read of the
    // dataset's bytes per read where the forecast is of none.
    const one: Usage =
      f.accesses > 0
        ? {
            reads: f.reads / f.accesses,
            readBytes: (f.read_bytes - f.scans * size) / f.accesses,
            writes: f.writes / f.accesses,
            writeBytes: 0,
          }
        : { reads: 1, readBytes: bytesPerRead(stats, size, this.readShare), writes: 0, writeBytes: 0 };
    const dearer = this.holdAccess(to, size, one, H) - this.holdAccess(cur, size, one, H);
    if (!(saved > 0) || !(dearer > 0)) return null;
    const count = (view.rate_per_day_30d * RATE_HALF_LIFE_DAYS) / Math.LN2;
    const exposure = decayedExposure(view.age_days, RATE_HALF_LIFE_DAYS);
    // A last week, or a silence since the last access, far quieter than the month's pace says the
    // use changed (a hand-off done, a burst over): the model, which learns how such data goes on,
    // decides alone; the month's count is stale evidence there.
    const week = (view.rate_per_day_1w * 7) / Math.LN2;
    if (pQuietWeek(week, view.rate_per_day_30d * decayedExposure(view.age_days, 7)) < QUIET_WEEK_P) return null;
    if (Math.exp((-(count + 0.5) / Math.max(1, exposure)) * view.days_idle) < QUIET_WEEK_P) return null;
    const comeBack = this.comeBack(cur, to, size, H);
    return { count, exposure, breakEven: saved / dearer, comeBack, perAccess: dearer, recent: view.days_idle < H };
  }

  /** Every placement's price for a decision, as its explanation shows them. */
  candidates(d: Decision): Candidate[] {
    const cur = placementIndex(d.from);
    return PLACEMENTS.map((placement, i) => {
      const hold = this.cost.holdBreakdown(i, d.sizeBytes, d.usage, d.horizonDays);
      const move = this.cost.move(cur, i, d.sizeBytes, d.daysHere);
      const wait = {
        firstByteMs: this.cost.firstByteMs[i]!,
        restoreMs: this.cost.restoreMs[i]!,
        reads: d.forecast.reads,
      };
      const excluded = d.excludedMask & (1 << i) ? excludedText(i, cur, d, wait) : null;
      return { placement, excluded, hold, move, total: hold.total + move.total };
    });
  }
}
