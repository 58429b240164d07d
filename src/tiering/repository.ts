import { sql, type Kysely } from 'kysely';
import { bulkWrite, ACTIVE_MOVE_STATES, type DB, type DecisionsTable, type Location, type Tier } from '../db';
import type { PriceCatalog } from './catalog';
import type { DatasetPolicy, ReadShareTotals } from './policy';
import type { PredictorState } from './predictor';

const GB = 1024 ** 3;

/** One dataset as the scheduler reads it: placement, size, statistics, policy, last decision. */
export interface CandidateRow {
  id: number;
  tier: Tier;
  location: Location;
  size_gb: number;
  content_bytes: number | null;
  created_at: number;
  last_storage_migration: number | null;
  reads: number | null;
  writes: number | null;
  scans: number | null;
  bytes_read: number | null;
  first_access: number | null;
  decay_at: number | null;
  decay_1h: number | null;
  decay_1d: number | null;
  decay_1w: number | null;
  decay_30d: number | null;
  mode: DatasetPolicy['mode'] | null;
  pin_location: Location | null;
  pin_tier: Tier | null;
  max_latency_ms: number | null;
  /** The stored decision, to skip rewriting one that has not changed. */
  prev_action: string | null;
  prev_rule: string | null;
  prev_to: string | null;
  prev_made_at: number | null;
  prev_forecast: number | null;
}

export type DecisionRow = DecisionsTable;

export interface ObservationDue {
  id: number;
  dataset_id: number;
  features: string;
  warm_total: number;
  predicted: number;
  seed_regression: number;
  seed_ewma: number;
  /** The dataset's non-scan accesses now (null if it was deleted). */
  warm_now: number | null;
}

const DECISION_COLS = [
  'dataset_id',
  'run_id',
  'made_at',
  'action',
  'rule',
  'from_location',
  'from_tier',
  'to_location',
  'to_tier',
  'forecast_accesses',
  'cost_now_month',
  'cost_target_month',
  'saving_month',
  'move_cost',
  'break_even_days',
  'catalog_version',
  'explanation',
] as const;
const DECISIONS_HEAD = `insert into decisions (${DECISION_COLS.join(', ')})`;
const DECISIONS_TAIL = `on conflict (dataset_id) do update set ${DECISION_COLS.slice(1)
  .map((c) => `${c} = excluded.${c}`)
  .join(', ')}`;

/** Everything the tiering capability keeps in SQLite. */
export class TieringRepository {
  /** `reader`: a read-only connection for the scheduler's scans (see Database.reader). */
  constructor(
    private readonly db: Kysely<DB>,
    private readonly reader: Kysely<DB> = db,
  ) {}

  // --- price catalogs -------------------------------------------------------------------------

  async currentCatalog(): Promise<
    { version: number; catalog: PriceCatalog; created_at: number; note: string | null } | undefined
  > {
    const r = await this.db
      .selectFrom('catalog_versions')
      .selectAll()
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    return (
      r && {
        version: r.version,
        catalog: JSON.parse(r.catalog) as PriceCatalog,
        created_at: r.created_at,
        note: r.note,
      }
    );
  }

  async catalogVersion(
    version: number,
  ): Promise<{ version: number; catalog: PriceCatalog; created_at: number; note: string | null } | undefined> {
    const r = await this.db
      .selectFrom('catalog_versions')
      .selectAll()
      .where('version', '=', version)
      .executeTakeFirst();
    return (
      r && {
        version: r.version,
        catalog: JSON.parse(r.catalog) as PriceCatalog,
        created_at: r.created_at,
        note: r.note,
      }
    );
  }

  async catalogVersions(limit: number): Promise<{ version: number; created_at: number; note: string | null }[]> {
    return this.db
      .selectFrom('catalog_versions')
      .select(['version', 'created_at', 'note'])
      .orderBy('version', 'desc')
      .limit(limit)
      .execute();
  }

  async addCatalog(catalog: PriceCatalog, note: string | null, now: number): Promise<number> {
    const r = await this.db
      .insertInto('catalog_versions')
      .values({ catalog: JSON.stringify(catalog), note, created_at: now })
      .executeTakeFirstOrThrow();
    return Number(r.insertId);
  }

  // --- per-dataset policies -------------------------------------------------------------------

  async policy(datasetId: number): Promise<DatasetPolicy | undefined> {
    const r = await this.db
      .selectFrom('dataset_policies')
      .selectAll()
      .where('dataset_id', '=', datasetId)
      .executeTakeFirst();
    return r && toPolicy(r.mode, r.pin_location, r.pin_tier, r.max_latency_ms);
  }

  async setPolicy(datasetId: number, p: DatasetPolicy, now: number): Promise<void> {
    const row = {
      mode: p.mode,
      pin_location: p.pin?.location ?? null,
      pin_tier: p.pin?.tier ?? null,
      max_latency_ms: p.maxLatencyMs,
      updated_at: now,
    };
    await this.db
      .insertInto('dataset_policies')
      .values({ dataset_id: datasetId, ...row })
      .onConflict((oc) => oc.column('dataset_id').doUpdateSet(row))
      .execute();
  }

  // --- the scheduler's reads ------------------------------------------------------------------

  /** A page of datasets in id order after `afterId`, with everything a decision needs. */
  async candidates(afterId: number, limit: number): Promise<CandidateRow[]> {
    const r = await sql<CandidateRow>`
      select d.id, d.tier, d.location, d.size_gb, d.content_bytes, d.created_at, d.last_storage_migration,
             s.reads, s.writes, s.scans, s.bytes_read, s.first_access, s.decay_at, s.decay_1h, s.decay_1d, s.decay_1w, s.decay_30d,
             p.mode, p.pin_location, p.pin_tier, p.max_latency_ms,
             x.action as prev_action, x.rule as prev_rule, x.to_location || '/' || x.to_tier as prev_to,
             x.made_at as prev_made_at, x.forecast_accesses as prev_forecast
      from datasets d
      left join dataset_stats s on s.dataset_id = d.id
      left join dataset_policies p on p.dataset_id = d.id
      left join decisions x on x.dataset_id = d.id
      where d.id > ${afterId}
      order by d.id
      limit ${limit}`.execute(this.db);
    return r.rows;
  }

  /**
   * The fleet's read-share totals (see ReadShareEstimator, whose rules this sums in SQL: reads
   * that reported no bytes and scans are left out), from the read-only connection. total(), not
   * sum(): a fleet's reads × sizes overflow 64-bit integers, where sum() throws.
   */
  async readShareTotals(): Promise<ReadShareTotals> {
    const r = await sql<{ bytes: number | null; read_size: number | null; reads: number | null }>`
      select total(min(w.reads * w.size, w.bytes)) as bytes, total(w.reads * w.size) as read_size, total(w.reads) as reads
      from (
        select v.reads - v.scans as reads, v.bytes_read - v.scans * v.size as bytes, v.size
        from (
          select s.reads, s.scans, s.bytes_read, coalesce(d.content_bytes, d.size_gb * ${GB}) as size -- as sizeBytesOf
          from dataset_stats s join datasets d on d.id = s.dataset_id
        ) v
      ) w
      where w.reads > 0 and w.size > 0 and w.bytes > 0`.execute(this.reader);
    const row = r.rows[0];
    return { bytes: row?.bytes ?? 0, readSize: row?.read_size ?? 0, reads: row?.reads ?? 0 };
  }

  /**
   * A page for the scheduler's scan over every dataset, from the read-only connection. Each row
   * comes back as one text and is parsed here: the driver builds a JS object property by
   * property, and twenty columns per row cost three times the query itself. Policies are not
   * joined (they are few: see policies()).
   */
  async scanPage(
    afterId: number,
    limit: number,
    policies: ReadonlyMap<number, DatasetPolicy>,
  ): Promise<CandidateRow[]> {
    const r = await sql<{ id: number; r: string }>`
      select d.id as id,
        d.tier || ',' || d.location || ',' || d.size_gb || ',' || ifnull(d.content_bytes, '') || ',' || d.created_at || ',' ||
        ifnull(d.last_storage_migration, '') || ',' || ifnull(s.reads, '') || ',' || ifnull(s.writes, '') || ',' || ifnull(s.scans, '') || ',' ||
        ifnull(s.bytes_read, '') || ',' || ifnull(s.first_access, '') || ',' || ifnull(s.decay_at, '') || ',' || ifnull(s.decay_1h, '') || ',' ||
        ifnull(s.decay_1d, '') || ',' || ifnull(s.decay_1w, '') || ',' || ifnull(s.decay_30d, '') || ',' || ifnull(x.action, '') || ',' || ifnull(x.rule, '') || ',' ||
        ifnull(x.to_location || '/' || x.to_tier, '') || ',' || ifnull(x.made_at, '') || ',' || ifnull(x.forecast_accesses, '') as r
      from datasets d
      left join dataset_stats s on s.dataset_id = d.id
      left join decisions x on x.dataset_id = d.id
      where d.id > ${afterId}
      order by d.id
      limit ${limit}`.execute(this.reader);
    const out: CandidateRow[] = new Array(r.rows.length);
    for (let i = 0; i < r.rows.length; i++) {
      const { id, r: text } = r.rows[i]!;
      const f = text.split(',');
      const num = (k: number): number | null => (f[k] === '' ? null : Number(f[k]));
      const str = (k: number): string | null => (f[k] === '' ? null : f[k]!);
      const p = policies.get(id);
      out[i] = {
        id,
        tier: f[0] as Tier,
        location: f[1] as Location,
        size_gb: Number(f[2]),
        content_bytes: num(3),
        created_at: Number(f[4]),
        last_storage_migration: num(5),
        reads: num(6),
        writes: num(7),
        scans: num(8),
        bytes_read: num(9),
        first_access: num(10),
        decay_at: num(11),
        decay_1h: num(12),
        decay_1d: num(13),
        decay_1w: num(14),
        decay_30d: num(15),
        mode: p?.mode ?? null,
        pin_location: p?.pin?.location ?? null,
        pin_tier: p?.pin?.tier ?? null,
        max_latency_ms: p?.maxLatencyMs ?? null,
        prev_action: str(16),
        prev_rule: str(17),
        prev_to: str(18),
        prev_made_at: num(19),
        prev_forecast: num(20),
      };
    }
    return out;
  }

  /** Every dataset's own policy that is not plain auto. */
  async policies(): Promise<Map<number, DatasetPolicy>> {
    const rows = await this.reader.selectFrom('dataset_policies').selectAll().execute();
    return new Map(rows.map((r) => [r.dataset_id, toPolicy(r.mode, r.pin_location, r.pin_tier, r.max_latency_ms)]));
  }

  async deleteDecisions(datasetIds: readonly number[]): Promise<void> {
    for (let i = 0; i < datasetIds.length; i += 5_000) {
      await this.db
        .deleteFrom('decisions')
        .where('dataset_id', 'in', datasetIds.slice(i, i + 5_000))
        .execute();
    }
  }

  /** One dataset, as candidates() reads it. */
  async candidate(datasetId: number): Promise<CandidateRow | undefined> {
    const rows = await this.candidates(datasetId - 1, 1);
    return rows[0]?.id === datasetId ? rows[0] : undefined;
  }

  async movingDatasetIds(): Promise<Set<number>> {
    const rows = await this.db
      .selectFrom('moves')
      .select('dataset_id')
      .where('state', 'in', ACTIVE_MOVE_STATES)
      .execute();
    return new Set(rows.map((r) => r.dataset_id));
  }

  // --- decisions ------------------------------------------------------------------------------

  async saveDecisions(rows: readonly DecisionRow[]): Promise<void> {
    if (rows.length === 0) return;
    // One transaction per call: one commit instead of one per statement.
    await this.db.transaction().execute((trx) =>
      bulkWrite<DB>(
        trx,
        DECISIONS_HEAD,
        DECISIONS_TAIL,
        DECISION_COLS.length,
        rows.map((r) => DECISION_COLS.map((c) => r[c])),
      ),
    );
  }

  async decision(datasetId: number): Promise<DecisionRow | undefined> {
    return this.db.selectFrom('decisions').selectAll().where('dataset_id', '=', datasetId).executeTakeFirst();
  }

  /** Decisions that point somewhere else than where the dataset is: the recommendations. */
  async recommendations(
    limit: number,
    offset: number,
  ): Promise<{ rows: (DecisionRow & { name: string; size_gb: number })[]; total: number }> {
    const base = this.db
      .selectFrom('decisions')
      .innerJoin('datasets', 'datasets.id', 'decisions.dataset_id')
      .where('decisions.action', '!=', 'stay');
    const rows = await base
      .selectAll('decisions')
      .select(['datasets.name', 'datasets.size_gb'])
      .orderBy('decisions.saving_month', 'desc')
      .orderBy('decisions.dataset_id')
      .limit(limit)
      .offset(offset)
      .execute();
    const total = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return { rows, total: Number(total.n) };
  }

  /** Logs decisions about to be carried out; returns each one's id by dataset. */
  async logDecisions(rows: readonly DecisionRow[]): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    for (let i = 0; i < rows.length; i += 1_000) {
      const part = rows.slice(i, i + 1_000);
      const ids = await this.db
        .insertInto('decision_log')
        .values(
          part.map((d) => ({
            dataset_id: d.dataset_id,
            run_id: d.run_id,
            made_at: d.made_at,
            from_location: d.from_location,
            from_tier: d.from_tier,
            to_location: d.to_location,
            to_tier: d.to_tier,
            rule: d.rule,
            saving_month: d.saving_month,
            catalog_version: d.catalog_version,
            explanation: d.explanation,
          })),
        )
        .returning(['id', 'dataset_id'])
        .execute();
      for (const r of ids) out.set(r.dataset_id, r.id);
    }
    return out;
  }

  async unlogDecisions(ids: readonly number[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 5_000)
      await this.db
        .deleteFrom('decision_log')
        .where('id', 'in', ids.slice(i, i + 5_000))
        .execute();
  }

  async loggedDecision(id: number) {
    return this.db.selectFrom('decision_log').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async latestLoggedDecisions(limit: number) {
    return this.db
      .selectFrom('decision_log')
      .leftJoin('datasets', 'datasets.id', 'decision_log.dataset_id')
      .selectAll('decision_log')
      .select('datasets.name')
      .orderBy('decision_log.id', 'desc')
      .limit(limit)
      .execute();
  }

  // --- runs and settings ----------------------------------------------------------------------

  async startRun(trigger: string, now: number): Promise<number> {
    const r = await this.db
      .insertInto('scheduler_runs')
      .values({ trigger, started_at: now, datasets: 0, moves: 0, held: '{}' })
      .executeTakeFirstOrThrow();
    return Number(r.insertId);
  }

  async finishRun(
    id: number,
    r: {
      finished_at: number;
      datasets: number;
      moves: number;
      held: Record<string, number>;
      catalog_version: number | null;
      error: string | null;
    },
  ): Promise<void> {
    await this.db
      .updateTable('scheduler_runs')
      .set({
        finished_at: r.finished_at,
        datasets: r.datasets,
        moves: r.moves,
        held: JSON.stringify(r.held),
        catalog_version: r.catalog_version,
        error: r.error,
      })
      .where('id', '=', id)
      .execute();
  }

  async runs(limit: number) {
    return this.db.selectFrom('scheduler_runs').selectAll().orderBy('id', 'desc').limit(limit).execute();
  }

  /** Runs left unfinished by a crash are closed, so the history never shows one running forever. */
  async closeAbandonedRuns(now: number): Promise<void> {
    await this.db
      .updateTable('scheduler_runs')
      .set({ finished_at: now, error: 'interrupted (the process stopped during the run)' })
      .where('finished_at', 'is', null)
      .execute();
  }

  async setting(key: string): Promise<string | undefined> {
    const r = await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
    return r?.value;
  }

  async setSetting(key: string, value: string, now: number): Promise<void> {
    await this.db
      .insertInto('settings')
      .values({ key, value, updated_at: now })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: now }))
      .execute();
  }

  // --- the model ------------------------------------------------------------------------------

  async predictorState(): Promise<PredictorState | undefined> {
    const r = await this.db.selectFrom('predictor_state').select('state').where('id', '=', 1).executeTakeFirst();
    return r && (JSON.parse(r.state) as PredictorState);
  }

  async savePredictorState(state: PredictorState, now: number, trx: Kysely<DB> = this.db): Promise<void> {
    const json = JSON.stringify(state);
    await trx
      .insertInto('predictor_state')
      .values({ id: 1, state: json, updated_at: now })
      .onConflict((oc) => oc.column('id').doUpdateSet({ state: json, updated_at: now }))
      .execute();
  }

  async addObservations(
    rows: {
      dataset_id: number;
      observed_at: number;
      due_at: number;
      features: string;
      warm_total: number;
      predicted: number;
      seed_regression: number;
      seed_ewma: number;
    }[],
  ): Promise<void> {
    if (rows.length === 0) return;
    await bulkWrite(
      this.db,
      'insert into forecast_observations (dataset_id, observed_at, due_at, features, warm_total, predicted, seed_regression, seed_ewma)',
      '',
      8,
      rows.map((r) => [
        r.dataset_id,
        r.observed_at,
        r.due_at,
        r.features,
        r.warm_total,
        r.predicted,
        r.seed_regression,
        r.seed_ewma,
      ]),
    );
  }

  /** Observations whose horizon has passed, with the dataset's count of accesses now. */
  async dueObservations(now: number, limit: number): Promise<ObservationDue[]> {
    const r = await sql<ObservationDue>`
      select o.id, o.dataset_id, o.features, o.warm_total, o.predicted, o.seed_regression, o.seed_ewma,
             case when d.id is null then null else coalesce(s.reads + s.writes - s.scans, 0) end as warm_now
      from forecast_observations o
      left join datasets d on d.id = o.dataset_id
      left join dataset_stats s on s.dataset_id = o.dataset_id
      where o.actual is null and o.due_at <= ${now}
      order by o.due_at
      limit ${limit}`.execute(this.db);
    return r.rows;
  }

  /** Labels matured observations (actual null: the dataset is gone, so the observation is dropped). */
  async matureObservations(
    rows: { id: number; actual: number | null }[],
    now: number,
    trx: Kysely<DB> = this.db,
  ): Promise<void> {
    const gone = rows.filter((r) => r.actual === null).map((r) => r.id);
    if (gone.length) await trx.deleteFrom('forecast_observations').where('id', 'in', gone).execute();
    const labelled = rows.filter((r) => r.actual !== null);
    if (labelled.length === 0) return;
    await bulkWrite(
      trx,
      'with v(id, actual) as (',
      `) update forecast_observations set actual = (select actual from v where v.id = forecast_observations.id), matured_at = ${Number(now)} where id in (select id from v)`,
      2,
      labelled.map((r) => [r.id, r.actual]),
    );
  }

  /** The latest labelled observations, newest first. */
  async maturedObservations(limit: number): Promise<
    {
      observed_at: number;
      matured_at: number;
      predicted: number;
      seed_regression: number;
      seed_ewma: number;
      actual: number;
    }[]
  > {
    const rows = await this.db
      .selectFrom('forecast_observations')
      .select(['observed_at', 'matured_at', 'predicted', 'seed_regression', 'seed_ewma', 'actual'])
      .where('actual', 'is not', null)
      .orderBy('matured_at', 'desc')
      .limit(limit)
      .execute();
    return rows as {
      observed_at: number;
      matured_at: number;
      predicted: number;
      seed_regression: number;
      seed_ewma: number;
      actual: number;
    }[];
  }

  async pendingObservations(): Promise<number> {
    const r = await this.db
      .selectFrom('forecast_observations')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('actual', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Non-scan accesses per hour over the 24 hours before `now`, for the seed's baselines. */
  async hourlyCounts(datasetIds: readonly number[], now: number): Promise<Map<number, Float64Array>> {
    const out = new Map<number, Float64Array>();
    if (datasetIds.length === 0) return out;
    const HOUR = 3_600_000;
    const from = Math.floor(now / HOUR) * HOUR - 24 * HOUR;
    const rows = await this.db
      .selectFrom('access_buckets')
      .select(['dataset_id', 'bucket_start', 'reads', 'writes', 'scans', 'res'])
      .where('dataset_id', 'in', datasetIds as number[])
      .where('res', 'in', ['m', 'h'])
      .where('bucket_start', '>=', from)
      .execute();
    // Minute buckets not yet rolled up and hour buckets overlap only if both exist for an hour;
    // prefer hour buckets where present.
    const hourHas = new Set(rows.filter((r) => r.res === 'h').map((r) => `${r.dataset_id}:${r.bucket_start}`));
    for (const r of rows) {
      const h = Math.floor(r.bucket_start / HOUR) * HOUR;
      if (r.res === 'm' && hourHas.has(`${r.dataset_id}:${h}`)) continue;
      const k = Math.floor((h - from) / HOUR);
      if (k < 0 || k >= 24) continue;
      let a = out.get(r.dataset_id);
      if (!a) out.set(r.dataset_id, (a = new Float64Array(24)));
      a[k]! += r.reads + r.writes - r.scans;
    }
    return out;
  }
}

export function toPolicy(
  mode: DatasetPolicy['mode'] | null,
  pinLocation: Location | null,
  pinTier: Tier | null,
  maxLatencyMs: number | null,
): DatasetPolicy {
  return {
    mode: mode ?? 'auto',
    pin: pinLocation && pinTier ? { location: pinLocation, tier: pinTier } : null,
    maxLatencyMs,
  };
}
