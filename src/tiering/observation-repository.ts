import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import { bulkWrite, type DB, type Fence, fenced } from '../db';
import type { PredictorState } from './predictor';

type ObservationsTable = DB['forecast_observations'];

/** A forecast observation about to be recorded (labelled later). */
export type NewObservation = Omit<Insertable<ObservationsTable>, 'id' | 'actual' | 'matured_at'>;

/** An observation whose horizon has passed, with the dataset's non-scan accesses now (null if it was deleted). */
export type ObservationDue = Pick<
  Selectable<ObservationsTable>,
  'id' | 'dataset_id' | 'features' | 'warm_total' | 'predicted' | 'seed_regression' | 'seed_ewma'
> & { warm_now: number | null };

/** A labelled observation: predicted against what happened. */
export type MaturedObservation = Pick<
  Selectable<ObservationsTable>,
  'observed_at' | 'predicted' | 'seed_regression' | 'seed_ewma'
> & { matured_at: number; actual: number };

/** The model's state and its forecast observations: recorded at a run, labelled a horizon later. */
export class ObservationRepository {
  constructor(private readonly db: Kysely<DB>) {}

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

  /** Saves the model alone (its idle-spell counts move every run), under the scheduler's lease with `fence`. */
  async saveModel(state: PredictorState, now: number, fence?: Fence): Promise<void> {
    await fenced(this.db, fence, (db) => this.savePredictorState(state, now, db));
  }

  /** `fence`: recorded only under the scheduler's lease. */
  async add(rows: readonly NewObservation[], fence?: Fence): Promise<void> {
    if (rows.length === 0) return;
    await fenced(this.db, fence, (db) => this.addIn(db, rows));
  }

  private async addIn(db: Kysely<DB>, rows: readonly NewObservation[]): Promise<void> {
    await bulkWrite(
      db,
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
  async due(now: number, limit: number): Promise<ObservationDue[]> {
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

  /**
   * Labels matured observations and saves the model trained on them, in one transaction (under
   * the scheduler's lease with `fence`): the labels and the model never part, and a stale leader
   * neither labels nor overwrites the new leader's model.
   */
  async train(
    rows: { id: number; actual: number | null }[],
    state: PredictorState,
    now: number,
    fence?: Fence,
  ): Promise<void> {
    await fenced(this.db, fence, async (db) => {
      await this.mature(rows, now, db);
      await this.savePredictorState(state, now, db);
    });
  }

  /** Labels matured observations (actual null: the dataset is gone, so the observation is dropped). */
  async mature(rows: { id: number; actual: number | null }[], now: number, trx: Kysely<DB> = this.db): Promise<void> {
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
      ['bigint', 'double precision'],
    );
  }

  /** The latest labelled observations, newest first. */
  async matured(limit: number): Promise<MaturedObservation[]> {
    const rows = await this.db
      .selectFrom('forecast_observations')
      .select(['observed_at', 'matured_at', 'predicted', 'seed_regression', 'seed_ewma', 'actual'])
      .where('actual', 'is not', null)
      .orderBy('matured_at', 'desc')
      .limit(limit)
      .execute();
    // Selected where actual is not null, so matured_at is set too.
    return rows as MaturedObservation[];
  }

  async pending(): Promise<number> {
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
