import { AgeTrend, type AgeTrendState } from './cooling';
import { N_FEATURES } from './features';
import { ReturnCurve, type ReturnCurveState } from './return-curve';

/**
 * The access forecaster: a linear model of log(1 + accesses over the horizon), fitted by
 * recursive least squares as labels mature, so it learns online from the product's own history
 * and follows drift (a forgetting factor weighs recent observations more).
 *
 * Before it has seen any label it predicts that the horizon repeats the dataset's 1-week decayed
 * rate: a sensible prior that training then corrects (for example, learning how fast datasets
 * cool with age, or that a dataset idle for weeks is not dead when its lifetime rate says
 * otherwise).
 */
/**
 * The model learns the accesses of the 30 days after an observation. (Measured on the replay
 * mix: 7-day labels mature sooner but make forecasts jumpier, so more moves, and cost 6% more.)
 */
export const LABEL_DAYS = 30;

export interface PredictorState {
  horizon_days: number;
  weights: number[];
  /** The inverse covariance of RLS, row-major N×N. */
  p: number[];
  updates: number;
  /** Per calibration bin: decayed sums of 1 + what the raw model predicted, and 1 + what happened. */
  calib_pred?: number[];
  calib_actual?: number[];
  /** The fleet's idle spells (ReturnCurve), learnt beside the model and kept with it. */
  returns?: ReturnCurveState;
  /** The fleet's use by age, month after against month before (cooling.ts). */
  age_trend?: AgeTrendState;
}

const LAMBDA = 0.9999;
const PRIOR_CONFIDENCE = 1;
/** Calibration forgets slowly too, and starts from "the raw forecast is the mean". */
const CALIB_DECAY = 0.9995;
const CALIB_PRIOR = 5;

function calibrationBin(predicted: number): number {
  let b = 0;
  while (b < CALIBRATION_EDGES.length - 2 && predicted >= CALIBRATION_EDGES[b + 1]!) b++;
  return b;
}

export class Predictor {
  private readonly w: Float64Array;
  private readonly p: Float64Array;
  private readonly px = new Float64Array(N_FEATURES);
  private readonly calibPred = new Float64Array(CALIBRATION_EDGES.length - 1);
  private readonly calibActual = new Float64Array(CALIBRATION_EDGES.length - 1);
  updates: number;
  /** Whether used data gone quiet comes back: what the policy forecasts from while the model learns. */
  readonly returns: ReturnCurve;
  /** How the fleet's use goes on with age, learnt from the same matured observations (cooling.ts). */
  readonly ageTrend: AgeTrend;

  constructor(
    readonly horizonDays: number = LABEL_DAYS,
    state?: PredictorState,
  ) {
    this.w = new Float64Array(N_FEATURES);
    this.p = new Float64Array(N_FEATURES * N_FEATURES);
    this.returns = new ReturnCurve(state?.returns);
    if (
      state &&
      state.weights.length === N_FEATURES &&
      state.p.length === N_FEATURES * N_FEATURES &&
      state.horizon_days === horizonDays
    ) {
      this.w.set(state.weights);
      this.p.set(state.p);
      this.updates = state.updates;
      this.ageTrend = new AgeTrend(state.age_trend);
      if (
        state.calib_pred?.length === this.calibPred.length &&
        state.calib_actual?.length === this.calibActual.length
      ) {
        this.calibPred.set(state.calib_pred);
        this.calibActual.set(state.calib_actual);
      }
    } else {
      this.w[3] = 1; // log_rate_1w: the horizon repeats the 1-week rate
      for (let i = 0; i < N_FEATURES; i++) this.p[i * N_FEATURES + i] = PRIOR_CONFIDENCE;
      this.updates = 0;
      this.ageTrend = new AgeTrend();
    }
  }

  /** Predicted log(1 + accesses over the horizon). */
  predictLog(x: Float64Array): number {
    let y = 0;
    for (let i = 0; i < N_FEATURES; i++) y += this.w[i]! * x[i]!;
    // Never more than e^2 (7×) the busiest rate the dataset has shown: a linear model far
    // outside what it was fitted on must not extrapolate into absurd forecasts.
    let cap = 0;
    for (let i = 1; i <= 5; i++) if (x[i]! > cap) cap = x[i]!;
    return Math.min(y, cap + 2);
  }

  /** The log model's own forecast: close to the median of what follows, not its mean. */
  predictRaw(x: Float64Array): number {
    return Math.expm1(Math.max(0, this.predictLog(x)));
  }

  /**
   * Expected non-scan accesses over the horizon (never negative). Costs are linear in accesses,
   * so decisions need the mean; a model fitted in log space predicts nearer the median (bursty
   * use makes the mean several times larger). Each forecast is therefore scaled by what followed
   * similar forecasts: the ratio of actual to predicted accesses in its calibration bin.
   */
  predict(x: Float64Array): number {
    const raw = this.predictRaw(x);
    const b = calibrationBin(raw);
    // Ratios of (1 + accesses) so that a bin of zero forecasts still learns its mean.
    const ratio = Math.min(
      8,
      Math.max(0.125, (this.calibActual[b]! + CALIB_PRIOR) / (this.calibPred[b]! + CALIB_PRIOR)),
    );
    return Math.max(0, (1 + raw) * ratio - 1);
  }

  /** One RLS step with the observed accesses that followed the observation `x`. */
  update(x: Float64Array, accesses: number): void {
    const raw = this.predictRaw(x);
    const b = calibrationBin(raw);
    for (let k = 0; k < this.calibPred.length; k++) {
      this.calibPred[k]! *= CALIB_DECAY;
      this.calibActual[k]! *= CALIB_DECAY;
    }
    this.calibPred[b]! += 1 + raw;
    this.calibActual[b]! += 1 + Math.max(0, accesses);
    // x[7] is log(1 + age), x[4] log(1 + the 30-day rate over the label window): see features().
    this.ageTrend.add(Math.expm1(x[7]!), Math.expm1(x[4]!), accesses);
    const n = N_FEATURES;
    const y = Math.log1p(Math.max(0, accesses));
    const err = y - this.predictLog(x);
    let denom = LAMBDA;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += this.p[i * n + j]! * x[j]!;
      this.px[i] = s;
      denom += x[i]! * s;
    }
    for (let i = 0; i < n; i++) this.w[i]! += (this.px[i]! / denom) * err;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++)
        this.p[i * n + j] = (this.p[i * n + j]! - (this.px[i]! * this.px[j]!) / denom) / LAMBDA;
    }
    this.updates++;
  }

  get weights(): number[] {
    return Array.from(this.w);
  }

  state(): PredictorState {
    return {
      horizon_days: this.horizonDays,
      weights: Array.from(this.w),
      p: Array.from(this.p),
      updates: this.updates,
      calib_pred: Array.from(this.calibPred),
      calib_actual: Array.from(this.calibActual),
      returns: this.returns.state(),
      age_trend: this.ageTrend.state(),
    };
  }
}

/**
 * The original demo's forecasts, kept as baselines the model is measured against. Both read the
 * last 24 hourly access counts (oldest first) and extrapolate them over the horizon.
 */
export const BASELINES = {
  /** Its `/api/ml/predict`: a least-squares line through 24 hourly buckets, its mean over the next 24 hours. */
  seedRegression(hourly: ArrayLike<number>, horizonDays: number): number {
    const n = hourly.length;
    if (n === 0) return 0;
    let sx = 0,
      sy = 0,
      sxx = 0,
      sxy = 0;
    for (let i = 0; i < n; i++) {
      const y = hourly[i]!;
      sx += i;
      sy += y;
      sxx += i * i;
      sxy += i * y;
    }
    const d = n * sxx - sx * sx;
    const slope = d === 0 ? 0 : (n * sxy - sx * sy) / d;
    const icpt = (sy - slope * sx) / n;
    let next = 0;
    for (let i = n; i < n + 24; i++) next += Math.max(0, icpt + slope * i);
    return Math.max(0, (next / 24) * 24 * horizonDays);
  },
  /** Its score: an EWMA (alpha 0.1) of the hourly counts, taken as the rate that continues. */
  seedEwma(hourly: ArrayLike<number>, horizonDays: number): number {
    let e = 0;
    for (let i = 0; i < hourly.length; i++) e = 0.1 * hourly[i]! + 0.9 * e;
    return e * 24 * horizonDays;
  },
} as const;

/**
 * Forecast quality: errors in log space (so a dataset read 10,000 times does not drown the
 * rest) for the model and each baseline, and a calibration table: for observations grouped by
 * what the model predicted, the mean predicted against the mean that happened.
 */
export const CALIBRATION_EDGES = [0, 1, 3, 10, 30, 100, 1_000, Infinity] as const;

export interface QualityReport {
  observations: number;
  mae_log: { model: number; seed_regression: number; seed_ewma: number };
  /** Mean absolute error in accesses over the horizon. */
  mae: { model: number; seed_regression: number; seed_ewma: number };
  calibration: {
    predicted_from: number;
    predicted_to: number | null;
    count: number;
    mean_predicted: number;
    mean_actual: number;
  }[];
}

export class QualityTracker {
  private n = 0;
  private readonly absLog = [0, 0, 0];
  private readonly abs = [0, 0, 0];
  private readonly bins = CALIBRATION_EDGES.slice(0, -1).map(() => ({ count: 0, pred: 0, actual: 0 }));

  add(model: number, seedRegression: number, seedEwma: number, actual: number): void {
    this.n++;
    const preds = [model, seedRegression, seedEwma];
    const la = Math.log1p(actual);
    for (let i = 0; i < 3; i++) {
      this.absLog[i]! += Math.abs(Math.log1p(preds[i]!) - la);
      this.abs[i]! += Math.abs(preds[i]! - actual);
    }
    let b = 0;
    while (b < this.bins.length - 1 && model >= CALIBRATION_EDGES[b + 1]!) b++;
    const bin = this.bins[b]!;
    bin.count++;
    bin.pred += model;
    bin.actual += actual;
  }

  report(): QualityReport {
    const m = (v: number): number => (this.n ? round(v / this.n) : 0);
    return {
      observations: this.n,
      mae_log: { model: m(this.absLog[0]!), seed_regression: m(this.absLog[1]!), seed_ewma: m(this.absLog[2]!) },
      mae: { model: m(this.abs[0]!), seed_regression: m(this.abs[1]!), seed_ewma: m(this.abs[2]!) },
      calibration: this.bins.map((b, i) => ({
        predicted_from: CALIBRATION_EDGES[i]!,
        predicted_to: Number.isFinite(CALIBRATION_EDGES[i + 1]!) ? CALIBRATION_EDGES[i + 1]! : null,
        count: b.count,
        mean_predicted: b.count ? round(b.pred / b.count) : 0,
        mean_actual: b.count ? round(b.actual / b.count) : 0,
      })),
    };
  }
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
