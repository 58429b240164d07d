import fs from 'node:fs';
import type { Fence, Location, Tier } from '../db';
import type { BatchMove } from '../storage';
import { type Clock, AppError, type Logger, type Service } from '../platform';
import { DEFAULT_CATALOG, parseCatalog, type PriceCatalog } from './catalog';
import { CostModel, type PlacementClasses } from './cost';
import { CostHistory } from './cost-history';
import { sizeBytesOf, snapshotOf } from './candidate';
import { AUTO, type Decision, type DatasetPolicy } from './decision';
import { explainView, repriceLogged, round } from './explain-view';
import { encodeExplanation } from './explanation';
import { FEATURE_NAMES } from './features';
import type { HindsightSummary } from './hindsight';
import { HindsightJudge } from './hindsight-judge';
import { netSaving, OFF_RECOMMENDATION, type PendingSaving } from './pending';
import { placementKey } from './placements';
import { TieringPolicy } from './policy';
import { BYTES_PER_READ_PRIOR, READS_PER_ACCESS_PRIOR, type ReadSplitPrior } from './read-share';
import { LABEL_DAYS, Predictor, QualityTracker, type QualityReport } from './predictor';
import { toPolicy, type CandidateRow, type DecisionRow, type TieringRepository } from './repository';
import type { FirstReadCurve } from './first-read';
import { replayHistory, type ReplayOutcome, type ReplayRequest } from './replay';
import { SETTING_KEYS, type SchedulerSettings } from './settings';

/** What a move request needs from the storage capability (narrow on purpose). */
export interface MoveEnqueuer {
  enqueue(
    datasetId: number,
    req: { tier: Tier; location: Location; reason: string; detail?: string | null; decisionId?: number | null },
  ): Promise<{ id: number }>;
  /** Plans many moves; the move id by dataset for those created (others skipped). `fence`: under the lease. */
  enqueueBatch(items: readonly BatchMove[], fence?: Fence): Promise<Map<number, number>>;
}

export interface TieringServiceDeps {
  repo: TieringRepository;
  moves: MoveEnqueuer;
  clock: Clock;
  logger: Logger;
  /** The scheduler's settings until changed through the API (stored ones win at start). */
  defaults: SchedulerSettings;
  /** A price catalog file for the first start (the built-in list prices otherwise). */
  pricesFile: string | undefined;
  /** Each S3 placement's storage class: every cost model here (the replay's too) is priced by it. */
  placementClasses: PlacementClasses;
}

/**
 * Tiering as a capability: the versioned price catalog, per-dataset policies, the model, and
 * decisions with their explanations. The scheduler (scheduler.ts) runs it over every dataset.
 */
export class TieringService implements Service {
  private catalogState: { version: number; catalog: PriceCatalog; cost: CostModel } | undefined;
  private readonly costByVersion = new Map<number, CostModel>();
  private settingsState: SchedulerSettings;
  predictor!: Predictor;

  readonly name = 'tiering';
  readonly repo: TieringRepository;
  /** Storage cost per placement now, and its daily history. */
  readonly costs: CostHistory;
  private readonly moves: MoveEnqueuer;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly pricesFile: string | undefined;
  private readonly modelOf: (catalog: PriceCatalog) => CostModel;
  private readonly judge: HindsightJudge;

  constructor(deps: TieringServiceDeps) {
    this.repo = deps.repo;
    this.moves = deps.moves;
    this.clock = deps.clock;
    this.logger = deps.logger;
    this.pricesFile = deps.pricesFile;
    this.modelOf = (catalog) => new CostModel(catalog, deps.placementClasses);
    this.settingsState = { ...deps.defaults };
    this.costs = new CostHistory({ repo: deps.repo.costHistory, catalog: () => this.catalog, clock: deps.clock });
    this.judge = new HindsightJudge({
      repo: deps.repo.hindsight,
      costModel: (version) => this.costModel(version),
      policyOf: (cost) => new TieringPolicy(cost, this.predictor, this.settings),
      now: () => this.clock.now(),
    });
  }

  async start(): Promise<void> {
    let current = await this.repo.catalogs.current();
    if (!current) {
      const catalog = this.pricesFile
        ? parseCatalog(JSON.parse(fs.readFileSync(this.pricesFile, 'utf8')))
        : DEFAULT_CATALOG;
      const version = await this.repo.catalogs.add(
        catalog,
        this.pricesFile ? `from ${this.pricesFile}` : 'defaults (public list prices)',
        this.clock.now(),
      );
      current = { version, catalog, created_at: this.clock.now(), note: null };
    }
    this.catalogState = { version: current.version, catalog: current.catalog, cost: this.modelOf(current.catalog) };
    await this.refresh();
  }

  /** Re-reads what another instance may have changed: settings, catalog version, the lease holder's model. */
  async refresh(): Promise<void> {
    const current = await this.repo.catalogs.current();
    if (current && current.version !== this.catalogState?.version)
      this.catalogState = { version: current.version, catalog: current.catalog, cost: this.modelOf(current.catalog) };
    for (const key of SETTING_KEYS) {
      const v = await this.repo.runs.setting(`scheduler.${key}`);
      if (v !== undefined) (this.settingsState as unknown as Record<string, unknown>)[key] = JSON.parse(v);
    }
    this.predictor = new Predictor(LABEL_DAYS, await this.repo.observations.predictorState());
  }

  async stop(): Promise<void> {
    // Nothing of its own runs in the background (the scheduler does, and stops itself).
  }

  /** The product's time (an accelerated clock in the demo). */
  now(): number {
    return this.clock.now();
  }

  // --- catalog --------------------------------------------------------------------------------

  get catalog(): { version: number; catalog: PriceCatalog; cost: CostModel } {
    if (!this.catalogState) throw new Error('tiering not started');
    return this.catalogState;
  }

  /**
   * Validates a whole or partial catalog over the current one and makes it the new version;
   * prices equal to the current ones make no version (`changed: false`, the current version).
   */
  async updateCatalog(
    input: unknown,
    note: string | null,
  ): Promise<{ version: number; catalog: PriceCatalog; changed: boolean }> {
    const catalog = parseCatalog(input, this.catalog.catalog);
    // parseCatalog clones the current catalog and sets fields in place: same prices, same JSON.
    if (JSON.stringify(catalog) === JSON.stringify(this.catalog.catalog))
      return { version: this.catalog.version, catalog, changed: false };
    const version = await this.repo.catalogs.add(catalog, note, this.clock.now());
    this.catalogState = { version, catalog, cost: this.modelOf(catalog) };
    this.logger.info('tiering.catalog_updated', { version });
    return { version, catalog, changed: true };
  }

  async costModel(version: number): Promise<CostModel> {
    if (version === this.catalog.version) return this.catalog.cost;
    let m = this.costByVersion.get(version);
    if (!m) {
      const v = await this.repo.catalogs.version(version);
      if (!v) throw AppError.notFound(`price catalog version ${version} not found`);
      m = this.modelOf(v.catalog);
      this.costByVersion.set(version, m);
    }
    return m;
  }

  // --- settings -------------------------------------------------------------------------------

  get settings(): SchedulerSettings {
    return this.settingsState;
  }

  async updateSettings(patch: Partial<SchedulerSettings>): Promise<SchedulerSettings> {
    const next = { ...this.settingsState, ...patch };
    for (const key of SETTING_KEYS) {
      if (patch[key] !== undefined)
        await this.repo.runs.setSetting(`scheduler.${key}`, JSON.stringify(patch[key]), this.clock.now());
    }
    this.settingsState = next;
    return next;
  }

  policyEngine(cost: CostModel = this.catalog.cost): TieringPolicy {
    const share = this.readShare ?? BYTES_PER_READ_PRIOR.share;
    const policy = new TieringPolicy(cost, this.predictor, this.settingsState, share, this.firstRead);
    policy.readSplit = this.readSplit ?? READS_PER_ACCESS_PRIOR;
    return policy;
  }

  /**
   * The fleet's read share of the size (ReadShareEstimator) and its reads per access
   * (ReadSplitEstimator), summed from the statistics at the start of the scheduler's last run;
   * null until enough were seen (and after a restart, until the first run).
   */
  readShare: number | null = null;
  readSplit: ReadSplitPrior | null = null;

  learnReadShare(share: number | null, split: ReadSplitPrior | null = null): void {
    if (share !== null) this.readShare = share;
    if (split !== null) this.readSplit = split;
  }

  /**
   * How soon unread data is read (FirstReadCurve), from the fleet's statistics at the start of
   * the scheduler's last run; null until enough datasets were counted (unread data then waits a
   * horizon idle before a demotion).
   */
  firstRead: FirstReadCurve | null = null;
  /** When firstRead was last summed (null: not since start-up). */
  firstReadLearntAt: number | null = null;

  // --- per-dataset policy ---------------------------------------------------------------------

  async policyOf(datasetId: number): Promise<DatasetPolicy> {
    return (await this.repo.policies.get(datasetId)) ?? AUTO;
  }

  /**
   * Sets a dataset's policy. A pin takes effect at once: if the dataset is elsewhere and not
   * already moving, the move is queued now (reason "pin") rather than at the next run.
   */
  async setPolicy(datasetId: number, p: DatasetPolicy): Promise<{ policy: DatasetPolicy; move_id: number | null }> {
    await this.repo.policies.set(datasetId, p, this.clock.now());
    let moveId: number | null = null;
    if (p.mode === 'pinned' && p.pin) {
      const row = await this.repo.scan.candidate(datasetId);
      const moving = await this.repo.scan.movingDatasetIds();
      if (row && !moving.has(datasetId) && (row.location !== p.pin.location || row.tier !== p.pin.tier)) {
        const m = await this.moves.enqueue(datasetId, {
          ...p.pin,
          reason: 'pin',
          detail: `pinned to ${placementKey(p.pin)}`,
        });
        moveId = m.id;
      }
    }
    this.logger.info('tiering.policy_set', {
      dataset_id: datasetId,
      mode: p.mode,
      pin: p.pin && placementKey(p.pin),
      max_latency_ms: p.maxLatencyMs,
    });
    return { policy: p, move_id: moveId };
  }

  // --- decisions ------------------------------------------------------------------------------

  /** A decision from a scheduler row; `moving` says a move is already queued or running. */
  decide(policy: TieringPolicy, row: CandidateRow, moving: boolean, now: number): Decision {
    return policy.decide(
      {
        datasetId: row.id,
        current: { location: row.location, tier: row.tier },
        placedAt: row.last_storage_migration ?? row.created_at,
        lastMoveAt: row.last_storage_migration,
        sizeBytes: sizeBytesOf(row),
        stats: snapshotOf(row),
        policy: toPolicy(row.mode, row.pin_location, row.pin_tier, row.max_latency_ms),
        moving,
      },
      now,
    );
  }

  /** The decision the policy makes for one dataset right now, without storing or acting on it. */
  async decideNow(datasetId: number): Promise<Decision> {
    const row = await this.repo.scan.candidate(datasetId);
    if (!row) throw AppError.notFound('dataset not found', { dataset_id: datasetId });
    const moving = (await this.repo.scan.movingDatasetIds()).has(datasetId);
    return this.decide(this.policyEngine(), row, moving, this.clock.now());
  }

  toRow(d: Decision, runId: number, now: number): DecisionRow {
    return {
      dataset_id: d.datasetId,
      run_id: runId,
      made_at: now,
      action: d.action,
      rule: d.rule,
      from_location: d.from.location,
      from_tier: d.from.tier,
      to_location: d.to.location,
      to_tier: d.to.tier,
      forecast_accesses: d.forecast.accesses,
      cost_now_month: d.costNowPerMonth,
      cost_target_month: d.costTargetPerMonth,
      saving_month: d.savingPerMonth,
      move_cost: d.moveCost,
      break_even_days: d.breakEvenDays,
      catalog_version: this.catalog.version,
      explanation: encodeExplanation(d),
    };
  }

  /** A stored decision as the API shows it: every candidate priced, the rule in words. */
  async explain(row: DecisionRow & { id?: number }): Promise<Record<string, unknown>> {
    const cost = await this.costModel(row.catalog_version);
    return explainView(row, cost, new TieringPolicy(cost, this.predictor, this.settings));
  }

  /**
   * The original demo's list: every dataset with its recommendation (a stay is one too). Stored
   * decisions as the last run made them; a dataset without one is decided now (nothing stored).
   */
  async recommendations(
    limit: number,
    offset: number,
  ): Promise<{ rows: { name: string; size_gb: number; stored: boolean; decision: DecisionRow }[]; total: number }> {
    const { rows, total } = await this.repo.decisions.everyDataset(limit, offset);
    const now = this.clock.now();
    const missing = rows.filter((r) => !r.decision);
    const fresh = new Map<number, DecisionRow>();
    if (missing.length > 0) {
      const policy = this.policyEngine();
      const moving = await this.repo.scan.movingDatasetIds();
      for (const r of missing) {
        const row = await this.repo.scan.candidate(r.id);
        if (row) fresh.set(r.id, this.toRow(this.decide(policy, row, moving.has(r.id), now), 0, now));
      }
    }
    return {
      rows: rows.flatMap((r) => {
        const decision = r.decision ?? fresh.get(r.id);
        return decision ? [{ name: r.name, size_gb: r.size_gb, stored: r.decision !== undefined, decision }] : [];
      }),
      total,
    };
  }

  /** A logged move (from decision_log) explained with its real costs, priced again from its inputs. */
  async explainLogged(x: Parameters<typeof repriceLogged>[0] & { id?: number }): Promise<Record<string, unknown>> {
    const cost = await this.costModel(x.catalog_version);
    const policy = new TieringPolicy(cost, this.predictor, this.settings);
    return explainView(repriceLogged(x, policy), cost, policy);
  }

  /**
   * What-if: the recorded history replayed under `req`'s catalog and settings (see replay.ts).
   * Nothing is stored; the live policy and its model are untouched (the replay trains its own).
   */
  replay(req: ReplayRequest): Promise<ReplayOutcome> {
    return replayHistory(this.repo.history, this.clock.now(), req, this.modelOf);
  }

  /** What the pending moves save per month, net of their cost (see pending.ts): one figure everywhere. */
  async pendingSaving(): Promise<PendingSaving> {
    return netSaving(await this.repo.pending.sums(OFF_RECOMMENDATION), this.settings.horizonDays);
  }

  /** A dataset's stored decision, if any. */
  decision(datasetId: number): Promise<DecisionRow | undefined> {
    return this.repo.decisions.get(datasetId);
  }

  /** The latest catalog versions, newest first. */
  catalogVersions(limit: number): ReturnType<TieringRepository['catalogs']['versions']> {
    return this.repo.catalogs.versions(limit);
  }

  /** One catalog version, or undefined when there is none. */
  catalogVersion(version: number): ReturnType<TieringRepository['catalogs']['version']> {
    return this.repo.catalogs.version(version);
  }

  /** The scheduler's latest runs, newest first. */
  recentRuns(limit: number): ReturnType<TieringRepository['runs']['latest']> {
    return this.repo.runs.latest(limit);
  }

  /**
   * The latest `limit` executed moves judged after the fact (hindsight.ts): each one's predicted
   * saving, priced from its logged inputs (once per move: hindsight-judge.ts), against the
   * accesses that came.
   */
  hindsight(limit = 1_000): Promise<HindsightSummary> {
    return this.judge.summary(limit);
  }

  /** Forecast quality over the latest labelled observations, against the original demo's forecasts. */
  async quality(limit = 10_000): Promise<
    QualityReport & {
      pending: number;
      model: { horizon_days: number; updates: number; read_share: number | null; weights: Record<string, number> };
    }
  > {
    const t = new QualityTracker();
    const rows = await this.repo.observations.matured(limit);
    for (const r of rows) t.add(r.predicted, r.seed_regression, r.seed_ewma, r.actual);
    const w = this.predictor.weights;
    return {
      ...t.report(),
      pending: await this.repo.observations.pending(),
      model: {
        horizon_days: this.predictor.horizonDays,
        updates: this.predictor.updates,
        read_share: this.readShare,
        weights: Object.fromEntries(FEATURE_NAMES.map((n, i) => [n, round(w[i]!, 4)])),
      },
    };
  }
}
