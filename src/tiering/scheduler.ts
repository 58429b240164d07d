import schedule from 'node-schedule';
import type { Clock } from '../platform/clock';
import { AppError } from '../platform/errors';
import type { Logger } from '../platform/logger';
import { features, N_FEATURES } from './features';
import { applyBudget, type Decision } from './policy';
import { BASELINES } from './predictor';
import type { CandidateRow, DecisionRow } from './repository';
import { snapshotOf, type MoveEnqueuer, type TieringService } from './service';

const DAY = 86_400_000;
const PAGE = 20_000;

export interface RunResult {
  run_id: number;
  trigger: string;
  started_at: string;
  seconds: number;
  datasets: number;
  decisions_written: number;
  moves: { move_id: number; dataset_id: number; from: string; to: string; decision_id: number; reason: string }[];
  held: Record<string, number>;
  catalog_version: number;
  observations: { matured: number; added: number };
}

/**
 * The tier scheduler: on a timer (node-schedule, re-armed after each run so the interval counts
 * from the end of the previous run) and on demand, it labels matured forecasts and trains the
 * model on them, decides for every dataset, stores the decisions, and hands the moves that fit
 * the run's budget to the move queue. A run never overlaps the previous one: asking for a run
 * while one is going joins it.
 */
export class TierScheduler {
  readonly name = 'tier-scheduler';
  private job: schedule.Job | undefined;
  private running: Promise<RunResult> | undefined;
  private stopped = false;
  private nextAt: number | null = null;

  constructor(
    private readonly tiering: TieringService,
    private readonly moves: MoveEnqueuer,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
    this.arm();
  }

  /** When the timer fires next (null when disabled). */
  get nextRunAt(): number | null {
    return this.nextAt;
  }

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  /** Re-arms the timer, e.g. after the interval changed. */
  arm(): void {
    this.job?.cancel();
    this.job = undefined;
    this.nextAt = null;
    const s = this.tiering.settings;
    if (this.stopped || !s.enabled) return;
    const at = new Date(Date.now() + s.intervalMs);
    this.nextAt = this.clock.now() + s.intervalMs;
    this.job = schedule.scheduleJob(at, () => {
      this.run('timer')
        .catch((err: unknown) => this.logger.error('scheduler.run_failed', { error: err as Error }))
        .finally(() => this.arm());
    });
  }

  run(trigger: string): Promise<RunResult> {
    if (this.stopped) return Promise.reject(AppError.unavailable('the scheduler is stopping', 5));
    if (!this.running) {
      this.running = this.runOnce(trigger).finally(() => {
        this.running = undefined;
      });
    }
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.job?.cancel();
    this.job = undefined;
    this.nextAt = null;
    await this.running?.catch(() => undefined);
  }

  private async runOnce(trigger: string): Promise<RunResult> {
    const t0 = Date.now();
    const now = this.clock.now();
    const { repo } = this.tiering;
    const runId = await repo.startRun(trigger, now);
    const log = this.logger.child({ run_id: runId });
    try {
      const matured = await this.train(now);
      const policy = this.tiering.policyEngine();
      const catalogVersion = this.tiering.catalog.version;
      const moving = await repo.movingDatasetIds();
      const held: Record<string, number> = {};
      const proposals: { d: Decision; size: number }[] = [];
      const sample = new Reservoir<CandidateRow>(this.tiering.settings.observationsPerRun);
      let datasets = 0;
      let written = 0;
      for (let after = 0; ; ) {
        const rows = await repo.candidates(after, PAGE);
        if (rows.length === 0) break;
        const out: DecisionRow[] = [];
        for (const row of rows) {
          datasets++;
          const d = this.tiering.decide(policy, row, moving.has(row.id), now);
          if (d.action === 'held') held[d.rule!] = (held[d.rule!] ?? 0) + 1;
          if (d.action === 'move') proposals.push({ d, size: d.sizeBytes });
          else if (changed(d, row, now)) out.push(this.tiering.toRow(d, runId, now));
          sample.offer(row);
        }
        written += out.length;
        await repo.saveDecisions(out);
        after = rows[rows.length - 1]!.id;
        if (rows.length < PAGE) break;
      }

      // The budget picks which proposed moves go now; the rest are held until the next run.
      const chosen = new Set(applyBudget(proposals.map((p) => p.d), (d) => d.sizeBytes, this.tiering.settings));
      const moves: RunResult['moves'] = [];
      const rows: DecisionRow[] = [];
      for (const { d } of proposals) {
        const row = this.tiering.toRow(d, runId, now);
        if (!chosen.has(d)) {
          held.budget = (held.budget ?? 0) + 1;
          rows.push(row);
          continue;
        }
        const decisionId = await repo.logDecision(row);
        try {
          const reason = d.rule === 'pin' ? 'pin' : 'policy';
          const m = await this.moves.enqueue(d.datasetId, { location: d.to.location, tier: d.to.tier, reason, detail: `decision #${decisionId}`, decisionId });
          moves.push({ move_id: m.id, dataset_id: d.datasetId, from: `${d.from.location}/${d.from.tier}`, to: `${d.to.location}/${d.to.tier}`, decision_id: decisionId, reason });
        } catch (err) {
          // Deleted, or moved by hand since the page was read: the next run decides again.
          if (!(err instanceof AppError) || (err.status !== 404 && err.status !== 409)) throw err;
          row.action = 'held';
          row.rule = 'in-flight';
        }
        rows.push(row);
      }
      await repo.saveDecisions(rows);
      written += rows.length;
      const added = await this.observe(sample.items, now);
      const result: RunResult = {
        run_id: runId,
        trigger,
        started_at: new Date(now).toISOString(),
        seconds: (Date.now() - t0) / 1000,
        datasets,
        decisions_written: written,
        moves,
        held,
        catalog_version: catalogVersion,
        observations: { matured, added },
      };
      await repo.finishRun(runId, { finished_at: this.clock.now(), datasets, moves: moves.length, held, catalog_version: catalogVersion, error: null });
      log.info('scheduler.run', { trigger, datasets, moves: moves.length, held, seconds: result.seconds, decisions_written: written });
      return result;
    } catch (err) {
      await repo.finishRun(runId, { finished_at: this.clock.now(), datasets: 0, moves: 0, held: {}, catalog_version: null, error: (err as Error).message }).catch(() => undefined);
      throw err;
    }
  }

  /** Labels observations whose horizon has passed and trains the model on them. */
  private async train(now: number): Promise<number> {
    const { repo } = this.tiering;
    const predictor = this.tiering.predictor;
    let n = 0;
    for (;;) {
      const due = await repo.dueObservations(now, 5_000);
      if (due.length === 0) break;
      const x = new Float64Array(N_FEATURES);
      const labelled = due.map((o) => {
        if (o.warm_now === null) return { id: o.id, actual: null };
        const actual = Math.max(0, o.warm_now - o.warm_total);
        x.set(JSON.parse(o.features) as number[]);
        predictor.update(x, actual);
        return { id: o.id, actual };
      });
      await repo.matureObservations(labelled, now);
      n += due.length;
      if (due.length < 5_000) break;
    }
    if (n > 0) await repo.savePredictorState(predictor.state(), now);
    return n;
  }

  /** Records a sample of forecasts (with the demo's baselines) to label when their horizon passes. */
  private async observe(rows: CandidateRow[], now: number): Promise<number> {
    if (rows.length === 0) return 0;
    const { repo } = this.tiering;
    const H = this.tiering.settings.horizonDays;
    const hourly = await repo.hourlyCounts(rows.map((r) => r.id), now);
    const empty = new Float64Array(24);
    const x = new Float64Array(N_FEATURES);
    const obs = rows.map((r) => {
      features(snapshotOf(r), now, H, x);
      const h = hourly.get(r.id) ?? empty;
      return {
        dataset_id: r.id,
        observed_at: now,
        due_at: now + H * DAY,
        features: JSON.stringify(Array.from(x)),
        warm_total: Math.max(0, (r.reads ?? 0) + (r.writes ?? 0) - (r.scans ?? 0)),
        predicted: this.tiering.predictor.predict(x),
        seed_regression: BASELINES.seedRegression(h, H),
        seed_ewma: BASELINES.seedEwma(h, H),
      };
    });
    await repo.addObservations(obs);
    return obs.length;
  }
}

/** A decision is rewritten only when it says something new, or a day after it was made. */
function changed(d: Decision, row: CandidateRow, now: number): boolean {
  if (row.prev_action === null) return true;
  if (row.prev_action !== d.action || row.prev_rule !== d.rule || row.prev_to !== `${d.to.location}/${d.to.tier}`) return true;
  if (row.prev_made_at === null || now - row.prev_made_at >= DAY) return true;
  const before = row.prev_forecast ?? 0;
  return Math.abs(d.forecast.accesses - before) > 0.5 + 0.1 * before;
}

/** A uniform sample of k items from a stream (Algorithm R). */
class Reservoir<T> {
  readonly items: T[] = [];
  private seen = 0;
  constructor(private readonly k: number) {}
  offer(item: T): void {
    this.seen++;
    if (this.items.length < this.k) this.items.push(item);
    else {
      const j = Math.floor(Math.random() * this.seen);
      if (j < this.k) this.items[j] = item;
    }
  }
}
