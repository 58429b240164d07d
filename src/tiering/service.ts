import fs from 'node:fs';
import type { Location, Tier } from '../db';
import type { BatchMove } from '../storage';
import { type Clock, AppError, type Logger } from '../platform';
import { DEFAULT_CATALOG, parseCatalog, type PriceCatalog } from './catalog';
import { CostModel } from './cost';
import { FEATURE_NAMES, type StatsSnapshot } from './features';
import { placementKey, placementIndex } from './placements';
import {
  AUTO,
  BYTES_PER_READ_PRIOR,
  TieringPolicy,
  type Decision,
  type DatasetPolicy,
  type PolicySettings,
} from './policy';
import { LABEL_DAYS, Predictor, QualityTracker, type QualityReport } from './predictor';
import { toPolicy, type CandidateRow, type DecisionRow, type TieringRepository } from './repository';

const GB = 1024 ** 3;

export interface SchedulerSettings extends PolicySettings {
  enabled: boolean;
  intervalMs: number;
  observationsPerRun: number;
}

/** What a move request needs from the storage capability (narrow on purpose). */
export interface MoveEnqueuer {
  enqueue(
    datasetId: number,
    req: { tier: Tier; location: Location; reason: string; detail?: string | null; decisionId?: number | null },
  ): Promise<{ id: number }>;
  /** Plans many moves; returns the move id by dataset for those created (others are skipped). */
  enqueueBatch(items: readonly BatchMove[]): Promise<Map<number, number>>;
}

/** The stored explanation: every input of the decision, so the API can show each candidate. */
interface StoredExplanation {
  v: 1;
  size_bytes: number;
  days_here: number;
  horizon_days: number;
  usage: Decision['usage'];
  forecast: Decision['forecast'];
  features: Decision['features'];
  excluded_mask: number;
  max_latency_ms: number | null;
  policy_mode: Decision['policyMode'];
  promotion: boolean;
}

const SETTING_KEYS = [
  'enabled',
  'intervalMs',
  'horizonDays',
  'hysteresis',
  'minSavingPerMonth',
  'cooldownMs',
  'defaultMaxLatencyMs',
  'budgetBytes',
  'budgetMoves',
  'observationsPerRun',
  'minModelUpdates',
] as const;

/**
 * Tiering as a capability: the versioned price catalog, per-dataset policies, the model, and
 * decisions with their explanations. The scheduler (scheduler.ts) runs it over every dataset.
 */
export class TieringService {
  private catalogState: { version: number; catalog: PriceCatalog; cost: CostModel } | undefined;
  private readonly costByVersion = new Map<number, CostModel>();
  private settingsState: SchedulerSettings;
  predictor!: Predictor;

  constructor(
    readonly repo: TieringRepository,
    private readonly moves: MoveEnqueuer,
    private readonly clock: Clock,
    private readonly logger: Logger,
    defaults: SchedulerSettings,
    private readonly pricesFile: string | undefined,
  ) {
    this.settingsState = { ...defaults };
  }

  async start(): Promise<void> {
    let current = await this.repo.currentCatalog();
    if (!current) {
      const catalog = this.pricesFile
        ? parseCatalog(JSON.parse(fs.readFileSync(this.pricesFile, 'utf8')))
        : DEFAULT_CATALOG;
      const version = await this.repo.addCatalog(
        catalog,
        this.pricesFile ? `from ${this.pricesFile}` : 'defaults (public list prices)',
        this.clock.now(),
      );
      current = { version, catalog, created_at: this.clock.now(), note: null };
    }
    this.catalogState = { version: current.version, catalog: current.catalog, cost: new CostModel(current.catalog) };
    for (const key of SETTING_KEYS) {
      const v = await this.repo.setting(`scheduler.${key}`);
      if (v !== undefined) (this.settingsState as unknown as Record<string, unknown>)[key] = JSON.parse(v);
    }
    const state = await this.repo.predictorState();
    this.predictor = new Predictor(LABEL_DAYS, state);
    await this.repo.closeAbandonedRuns(this.clock.now());
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

  /** Validates a whole or partial catalog over the current one and makes it the new version. */
  async updateCatalog(input: unknown, note: string | null): Promise<{ version: number; catalog: PriceCatalog }> {
    const catalog = parseCatalog(input, this.catalog.catalog);
    const version = await this.repo.addCatalog(catalog, note, this.clock.now());
    this.catalogState = { version, catalog, cost: new CostModel(catalog) };
    this.logger.info('tiering.catalog_updated', { version });
    return { version, catalog };
  }

  async costModel(version: number): Promise<CostModel> {
    if (version === this.catalog.version) return this.catalog.cost;
    let m = this.costByVersion.get(version);
    if (!m) {
      const v = await this.repo.catalogVersion(version);
      if (!v) throw AppError.notFound(`price catalog version ${version} not found`);
      m = new CostModel(v.catalog);
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
        await this.repo.setSetting(`scheduler.${key}`, JSON.stringify(patch[key]), this.clock.now());
    }
    this.settingsState = next;
    return next;
  }

  policyEngine(cost: CostModel = this.catalog.cost): TieringPolicy {
    return new TieringPolicy(cost, this.predictor, this.settingsState, this.readShare ?? BYTES_PER_READ_PRIOR.share);
  }

  /**
   * The fleet's read share of the size, summed from the statistics at the start of the scheduler's
   * last run (ReadShareEstimator); null until enough reads were seen (and after a restart, until
   * the first run).
   */
  readShare: number | null = null;

  learnReadShare(share: number | null): void {
    if (share !== null) this.readShare = share;
  }

  // --- per-dataset policy ---------------------------------------------------------------------

  async policyOf(datasetId: number): Promise<DatasetPolicy> {
    return (await this.repo.policy(datasetId)) ?? AUTO;
  }

  /**
   * Sets a dataset's policy. A pin takes effect at once: if the dataset is elsewhere and not
   * already moving, the move is queued now (reason "pin") rather than at the next run.
   */
  async setPolicy(datasetId: number, p: DatasetPolicy): Promise<{ policy: DatasetPolicy; move_id: number | null }> {
    await this.repo.setPolicy(datasetId, p, this.clock.now());
    let moveId: number | null = null;
    if (p.mode === 'pinned' && p.pin) {
      const row = await this.repo.candidate(datasetId);
      const moving = await this.repo.movingDatasetIds();
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
    const row = await this.repo.candidate(datasetId);
    if (!row) throw AppError.notFound('dataset not found', { dataset_id: datasetId });
    const moving = (await this.repo.movingDatasetIds()).has(datasetId);
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
    const e = decodeExplanation(row.explanation);
    const cost = await this.costModel(row.catalog_version);
    const d: Decision = {
      datasetId: row.dataset_id,
      action: row.action,
      from: { location: row.from_location, tier: row.from_tier },
      to: { location: row.to_location, tier: row.to_tier },
      rule: row.rule as Decision['rule'],
      horizonDays: e.horizon_days,
      forecast: e.forecast,
      features: e.features,
      costNowPerMonth: row.cost_now_month,
      costTargetPerMonth: row.cost_target_month,
      savingPerMonth: row.saving_month,
      moveCost: row.move_cost,
      breakEvenDays: row.break_even_days,
      promotion: e.promotion,
      usage: e.usage,
      sizeBytes: e.size_bytes,
      daysHere: e.days_here,
      excludedMask: e.excluded_mask,
      maxLatencyMs: e.max_latency_ms,
      policyMode: e.policy_mode,
    };
    const perMonth = 30 / d.horizonDays;
    const candidates = new TieringPolicy(cost, this.predictor, this.settings).candidates(d).map((c) => ({
      placement: placementKey(c.placement),
      location: c.placement.location,
      tier: c.placement.tier,
      excluded: c.excluded,
      first_byte_ms: cost.firstByteMs[placementIndex(c.placement)],
      per_month: mapValues(c.hold, (v) => money(v * perMonth)),
      move: mapValues(c.move, money),
      horizon_total: money(c.total),
      current: c.placement.location === d.from.location && c.placement.tier === d.from.tier,
      chosen: c.placement.location === d.to.location && c.placement.tier === d.to.tier,
    }));
    return {
      dataset_id: d.datasetId,
      ...(row.id !== undefined ? { decision_id: row.id } : {}),
      run_id: row.run_id,
      made_at: new Date(row.made_at).toISOString(),
      action: d.action,
      rule: d.rule,
      summary: summarise(d),
      from: { location: d.from.location, tier: d.from.tier },
      to: { location: d.to.location, tier: d.to.tier },
      horizon_days: d.horizonDays,
      forecast: mapValues(d.forecast, (v) => round(v, 3)),
      features: mapValues(d.features, (v) => round(v, 4)),
      size_bytes: d.sizeBytes,
      cost_now_per_month: money(d.costNowPerMonth),
      cost_target_per_month: money(d.costTargetPerMonth),
      saving_per_month: money(d.savingPerMonth),
      move_cost: money(d.moveCost),
      break_even_days: d.breakEvenDays === null ? null : round(d.breakEvenDays, 1),
      catalog_version: row.catalog_version,
      candidates,
    };
  }

  /** Forecast quality over the latest labelled observations, against the original demo's forecasts. */
  async quality(limit = 10_000): Promise<
    QualityReport & {
      pending: number;
      model: { horizon_days: number; updates: number; read_share: number | null; weights: Record<string, number> };
    }
  > {
    const t = new QualityTracker();
    const rows = await this.repo.maturedObservations(limit);
    for (const r of rows) t.add(r.predicted, r.seed_regression, r.seed_ewma, r.actual);
    const w = this.predictor.weights;
    return {
      ...t.report(),
      pending: await this.repo.pendingObservations(),
      model: {
        horizon_days: this.predictor.horizonDays,
        updates: this.predictor.updates,
        read_share: this.readShare,
        weights: Object.fromEntries(FEATURE_NAMES.map((n, i) => [n, round(w[i]!, 4)])),
      },
    };
  }
}

/**
 * The stored explanation is every input of the decision as a compact JSON array in a fixed
 * order (a million decisions are written on a first run: a keyed object is three times larger).
 */
const MODES: Decision['policyMode'][] = ['auto', 'pinned', 'never-tier'];

export function encodeExplanation(d: Decision): string {
  const f = d.forecast;
  const v = d.features;
  const u = d.usage;
  const n = String; // V8's shortest round-trip form; toPrecision costs ten times more
  return `[1,${n(d.sizeBytes)},${n(d.daysHere)},${d.horizonDays},${n(u.reads)},${n(u.readBytes)},${n(u.writes)},${n(f.accesses)},${n(f.reads)},${n(f.writes)},${n(f.scans)},${n(f.read_bytes)},${n(v.rate_per_day_1h)},${n(v.rate_per_day_1d)},${n(v.rate_per_day_1w)},${n(v.rate_per_day_30d)},${n(v.rate_per_day_lifetime)},${n(v.days_idle)},${n(v.age_days)},${n(v.scans_per_day)},${d.excludedMask},${d.maxLatencyMs === null ? 'null' : n(d.maxLatencyMs)},${MODES.indexOf(d.policyMode)},${d.promotion ? 1 : 0}]`;
}

export function decodeExplanation(text: string): StoredExplanation {
  const a = JSON.parse(text) as (number | null)[];
  if (a[0] !== 1 || a.length !== 24) throw new Error('unknown explanation format');
  const x = (i: number): number => a[i] as number;
  return {
    v: 1,
    size_bytes: x(1),
    days_here: x(2),
    horizon_days: x(3),
    usage: { reads: x(4), readBytes: x(5), writes: x(6), writeBytes: 0 },
    forecast: { accesses: x(7), reads: x(8), writes: x(9), scans: x(10), read_bytes: x(11) },
    features: {
      rate_per_day_1h: x(12),
      rate_per_day_1d: x(13),
      rate_per_day_1w: x(14),
      rate_per_day_30d: x(15),
      rate_per_day_lifetime: x(16),
      days_idle: x(17),
      age_days: x(18),
      scans_per_day: x(19),
    },
    excluded_mask: x(20),
    max_latency_ms: a[21] ?? null,
    policy_mode: MODES[x(22)]!,
    promotion: x(23) === 1,
  };
}

export function sizeBytesOf(row: { content_bytes: number | null; size_gb: number }): number {
  return row.content_bytes ?? row.size_gb * GB;
}

export function snapshotOf(row: CandidateRow): StatsSnapshot {
  return {
    createdAt: row.created_at,
    sizeBytes: sizeBytesOf(row),
    reads: row.reads ?? 0,
    writes: row.writes ?? 0,
    scans: row.scans ?? 0,
    bytesRead: row.bytes_read ?? 0,
    decayAt: row.decay_at ?? 0,
    decay1h: row.decay_1h ?? 0,
    decay1d: row.decay_1d ?? 0,
    decay1w: row.decay_1w ?? 0,
    decay30d: row.decay_30d ?? 0,
    firstAccess: row.first_access,
  };
}

/** One sentence a person reads: what is expected, what is cheapest, and what held a move back. */
export function summarise(d: Decision): string {
  const f = d.forecast;
  const head = `Expects ${fmt(f.accesses)} accesses${f.scans >= 0.5 ? ` and ${fmt(f.scans)} scans` : ''} in the next ${d.horizonDays} days (idle ${fmt(d.features.days_idle)} days, ${fmt(d.features.rate_per_day_1w)}/day over the last week).`;
  const here = `${placementKey(d.from)} costs $${money(d.costNowPerMonth)}/month`;
  if (d.action === 'stay') {
    if (d.rule === 'pin') return `${head} Pinned to ${placementKey(d.from)}.`;
    if (d.rule === 'never-tier') return `${head} Never tiered: stays at ${placementKey(d.from)}.`;
    return `${head} ${here}, the cheapest allowed placement: stays.`;
  }
  const move = `${placementKey(d.to)} would cost $${money(d.costTargetPerMonth)}/month (saves $${money(d.savingPerMonth)}/month; the move costs $${money(d.moveCost)}${d.breakEvenDays !== null ? `, paid back in ${fmt(d.breakEvenDays)} days` : ''}).`;
  const why: Record<string, string> = {
    pin: 'Pinned there: moving.',
    'in-flight': 'Held: a move of this dataset is already under way.',
    cooldown: 'Held: it moved recently (cooldown).',
    hysteresis: 'Held: the saving does not beat the cost of the move by the required margin (hysteresis).',
    'min-saving': 'Held: the saving is below the minimum worth a move.',
    budget: "Held: this run's move budget is spent; it goes first next run.",
    learning: 'Held: the model has not yet learnt from enough matured forecasts to bet on cheaper storage.',
  };
  return `${head} ${here}; ${move} ${d.action === 'move' && d.rule === null ? 'Moving.' : (why[d.rule ?? ''] ?? '')}`.trim();
}

function fmt(v: number): string {
  if (v >= 100) return Math.round(v).toLocaleString('en-US');
  if (v >= 1) return v.toFixed(1);
  return v.toFixed(2);
}

function money(v: number): number {
  return Math.round(v * 10_000) / 10_000;
}

function round(v: number, d: number): number {
  const f = 10 ** d;
  return Math.round(v * f) / f;
}

function mapValues<T extends object>(o: T, f: (v: number) => number): { [K in keyof T]: number } {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v as number)])) as { [K in keyof T]: number };
}
