import schedule from 'node-schedule';
import { type Clock, AppError, type Logger } from '../platform';
import { features, N_FEATURES } from './features';
import { moveOrder, ReadShareEstimator, TopK, type Decision } from './policy';
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
  /** Where the run's time went. */
  phases_ms: { train: number; scan: number; plan: number; observe: number };
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
      const tTrain = Date.now();
      const matured = await this.train(now);
      const tScan = Date.now();
      // Reads are priced toward the fleet's read share as it stands now (one aggregate query),
      // so every run, the first included, prices with the same share its explanations show.
      this.tiering.learnReadShare(ReadShareEstimator.share(await repo.readShareTotals()));
      const policy = this.tiering.policyEngine();
      const catalogVersion = this.tiering.catalog.version;
      const moving = await repo.movingDatasetIds();
      const held: Record<string, number> = {};
      // Only the moves the budget can take are kept (the best budgetMoves of them by moveOrder);
      // a proposal that falls out is held for the budget at once, so memory stays bounded.
      const settings = this.tiering.settings;
      const best = new TopK<{ d: Decision; prev: CandidateRow }>(settings.budgetMoves, (a, b) => moveOrder(a.d, b.d));
      const budgetHeld: DecisionRow[] = [];
      const holdForBudget = (p: { d: Decision; prev: CandidateRow }): void => {
        p.d.action = 'held';
        p.d.rule = 'budget';
        held.budget = (held.budget ?? 0) + 1;
        if (changed(p.d, p.prev)) budgetHeld.push(this.tiering.toRow(p.d, runId, now));
      };
      const sample = new Reservoir<CandidateRow>(this.tiering.settings.observationsPerRun);
      let datasets = 0;
      let written = 0;
      const policies = await repo.policies();
      const cleared: number[] = [];
      // Writes go on the main connection while the next page is read on the reader, so
      // reading, deciding and writing overlap.
      let writes = Promise.resolve();
      // The next page is read (on the reader's thread) while this one is decided.
      let next: Promise<CandidateRow[]> | undefined = repo.scanPage(0, PAGE, policies);
      while (next) {
        const rows: CandidateRow[] = await next;
        if (rows.length === 0) break;
        next = rows.length < PAGE ? undefined : repo.scanPage(rows[rows.length - 1]!.id, PAGE, policies);
        const out: DecisionRow[] = [];
        for (const row of rows) {
          datasets++;
          const d = this.tiering.decide(policy, row, moving.has(row.id), now);
          if (d.action === 'held') held[d.rule!] = (held[d.rule!] ?? 0) + 1;
          if (d.action === 'move') {
            const dropped = best.offer({ d, prev: row });
            if (dropped) holdForBudget(dropped);
          } else if (d.action === 'stay' && d.rule === null) {
            // Already at its cheapest allowed placement: nothing to store (its explanation is
            // computed on request); a stored recommendation it no longer needs is cleared.
            if (row.prev_action !== null) cleared.push(row.id);
          } else if (changed(d, row)) out.push(this.tiering.toRow(d, runId, now));
          sample.offer(row);
        }
        out.push(...budgetHeld.splice(0));
        written += out.length;
        // At most one page's writes in flight: decisions never pile up in memory.
        await writes;
        writes = repo.saveDecisions(out);
      }
      await writes;
      await repo.deleteDecisions(cleared);
      const tPlan = Date.now();

      // The byte budget, in move order over the kept proposals.
      const rows: DecisionRow[] = [];
      const go: { d: Decision; row: DecisionRow }[] = [];
      let bytes = 0;
      for (const p of best.sorted()) {
        if (bytes + p.d.sizeBytes > settings.budgetBytes) {
          holdForBudget(p);
          continue;
        }
        bytes += p.d.sizeBytes;
        const row = this.tiering.toRow(p.d, runId, now);
        rows.push(row);
        go.push({ d: p.d, row });
      }
      rows.push(...budgetHeld.splice(0));
      // Log the decisions, then plan their moves in batches; a dataset moved or deleted since
      // the scan is skipped, and its decision says so.
      const logIds = await repo.logDecisions(go.map((g) => g.row));
      const created = await this.moves.enqueueBatch(
        go.map(({ d }) => ({
          dataset_id: d.datasetId,
          from_tier: d.from.tier,
          from_location: d.from.location,
          to_tier: d.to.tier,
          to_location: d.to.location,
          reason: d.rule === 'pin' ? 'pin' : 'policy',
          reason_detail: `decision #${logIds.get(d.datasetId)}`,
          decision_id: logIds.get(d.datasetId) ?? null,
        })),
      );
      const moves: RunResult['moves'] = [];
      const orphanLogs: number[] = [];
      for (const { d, row } of go) {
        const moveId = created.get(d.datasetId);
        const decisionId = logIds.get(d.datasetId)!;
        if (moveId === undefined) {
          row.action = 'held';
          row.rule = 'in-flight';
          orphanLogs.push(decisionId);
          continue;
        }
        moves.push({
          move_id: moveId,
          dataset_id: d.datasetId,
          from: `${d.from.location}/${d.from.tier}`,
          to: `${d.to.location}/${d.to.tier}`,
          decision_id: decisionId,
          reason: d.rule === 'pin' ? 'pin' : 'policy',
        });
      }
      await repo.unlogDecisions(orphanLogs);
      await repo.saveDecisions(rows);
      written += rows.length;
      const tObserve = Date.now();
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
        phases_ms: {
          train: tScan - tTrain,
          scan: tPlan - tScan,
          plan: tObserve - tPlan,
          observe: Date.now() - tObserve,
        },
      };
      await repo.finishRun(runId, {
        finished_at: this.clock.now(),
        datasets,
        moves: moves.length,
        held,
        catalog_version: catalogVersion,
        error: null,
      });
      log.info('scheduler.run', {
        trigger,
        datasets,
        moves: moves.length,
        held,
        seconds: result.seconds,
        decisions_written: written,
      });
      return result;
    } catch (err) {
      await repo
        .finishRun(runId, {
          finished_at: this.clock.now(),
          datasets: 0,
          moves: 0,
          held: {},
          catalog_version: null,
          error: (err as Error).message,
        })
        .catch(() => undefined);
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
    const H = this.tiering.predictor.horizonDays;
    const hourly = await repo.hourlyCounts(
      rows.map((r) => r.id),
      now,
    );
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

/**
 * A stored decision is rewritten only when it says something new: another action, rule or
 * target, or a forecast that moved by more than a quarter (and one access). Its made_at therefore says since when.
 */
function changed(d: Decision, row: CandidateRow): boolean {
  if (row.prev_action === null) return true;
  if (row.prev_action !== d.action || row.prev_rule !== d.rule || row.prev_to !== `${d.to.location}/${d.to.tier}`)
    return true;
  const before = row.prev_forecast ?? 0;
  return Math.abs(d.forecast.accesses - before) > 1 + 0.25 * before;
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
