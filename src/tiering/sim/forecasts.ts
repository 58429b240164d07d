/**
 * The replay's forecast observations, as the live scheduler takes them: a sample of datasets
 * each step, their forecast (and the original demo's) recorded, labelled with what happened a
 * horizon later, which trains the model and scores it.
 */
import { features, N_FEATURES } from '../features';
import { BASELINES, type Predictor, QualityTracker } from '../predictor';
import type { SimStats } from './stats';

const DAY = 86_400_000;

interface Pending {
  i: number;
  due: number;
  x: Float64Array;
  warmAt: number;
  model: number;
  reg: number;
  ewma: number;
  trained: boolean;
}

export class ForecastSampler {
  readonly quality = new QualityTracker();
  /** The same over the forecasts made once the model had learnt (see SimResult.forecast_quality_trained). */
  readonly qualityTrained = new QualityTracker();
  // Pushed in the order they fall due: the matured ones are always a prefix.
  private readonly pending: Pending[] = [];
  private rng = 0x9e3779b9;

  constructor(
    private readonly predictor: Predictor,
    private readonly stats: SimStats,
    private readonly perStep: number,
    private readonly minModelUpdates: number,
  ) {}

  /** Labels that matured by `now` train the model and score it against the baselines. */
  mature(now: number): void {
    let matured = 0;
    while (matured < this.pending.length && this.pending[matured]!.due <= now) {
      const o = this.pending[matured++]!;
      const actual = this.stats.warmTotal(o.i) - o.warmAt;
      this.quality.add(o.model, o.reg, o.ewma, actual);
      if (o.trained) this.qualityTrained.add(o.model, o.reg, o.ewma, actual);
      this.predictor.update(o.x, actual);
    }
    if (matured > 0) this.pending.splice(0, matured);
  }

  /**
   * A sample of the datasets that exist now, as the live scheduler's reservoir takes from its
   * scan (drawing from all of them, datasets not yet created, would starve a young catalog).
   * None once the horizon would reach past the trace's end.
   */
  sample(now: number, end: number): void {
    const { stats, predictor } = this;
    const { n, createdAt } = stats.view;
    const H = predictor.horizonDays;
    let existing = 0;
    for (let i = 0; i < n; i++) if (createdAt[i]! <= now) existing++;
    if (now + H * DAY > end || existing === 0) return;
    const want = Math.min(this.perStep, existing);
    for (let k = 0, tries = 0; k < want && tries < want * 1_000; tries++) {
      const i = Math.floor(this.rand() * n);
      if (createdAt[i]! > now) continue;
      k++;
      const x = new Float64Array(N_FEATURES);
      features(stats.view.snapshot(i), now, H, x);
      const hourly = stats.view.hourly(i);
      this.pending.push({
        i,
        due: now + H * DAY,
        x,
        warmAt: stats.warmTotal(i),
        model: predictor.predict(x),
        reg: BASELINES.seedRegression(hourly, H),
        ewma: BASELINES.seedEwma(hourly, H),
        trained: predictor.updates >= this.minModelUpdates,
      });
    }
  }

  /** xorshift32: the sample is the same on every replay of a trace. */
  private rand(): number {
    let r = this.rng;
    r ^= r << 13;
    r ^= r >>> 17;
    r ^= r << 5;
    this.rng = r;
    return (r >>> 0) / 4294967296;
  }
}
