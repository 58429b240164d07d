import { sql, type Kysely } from 'kysely';
import { bulkWrite, type DB, type DecisionsTable, type Fence, fenced } from '../db';

export type DecisionRow = DecisionsTable;

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

/** Each dataset's current decision (its recommendation), and the log of decisions carried out. */
export class DecisionRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** `fence`: the write happens only while the scheduler's lease is this instance's (checked in the transaction). */
  async save(rows: readonly DecisionRow[], fence?: Fence): Promise<void> {
    if (rows.length === 0) return;
    // One transaction per call: one commit instead of one per statement.
    await this.db.transaction().execute(async (trx) => {
      await fence?.(trx);
      await bulkWrite<DB>(
        trx,
        DECISIONS_HEAD,
        DECISIONS_TAIL,
        DECISION_COLS.length,
        rows.map((r) => DECISION_COLS.map((c) => r[c])),
      );
    });
  }

  async get(datasetId: number): Promise<DecisionRow | undefined> {
    return this.db.selectFrom('decisions').selectAll().where('dataset_id', '=', datasetId).executeTakeFirst();
  }

  /** The stored decisions of these datasets, by dataset. */
  async getMany(datasetIds: readonly number[]): Promise<Map<number, DecisionRow>> {
    const out = new Map<number, DecisionRow>();
    for (let i = 0; i < datasetIds.length; i += 5_000) {
      const rows = await this.db
        .selectFrom('decisions')
        .selectAll()
        .where('dataset_id', 'in', datasetIds.slice(i, i + 5_000))
        .execute();
      for (const r of rows) out.set(r.dataset_id, r);
    }
    return out;
  }

  /** `fence`: deleted only under the scheduler's lease (a stale leader would delete what the new one just decided). */
  async delete(datasetIds: readonly number[], fence?: Fence): Promise<void> {
    if (datasetIds.length === 0) return;
    await fenced(this.db, fence, async (db) => {
      for (let i = 0; i < datasetIds.length; i += 5_000) {
        await db
          .deleteFrom('decisions')
          .where('dataset_id', 'in', datasetIds.slice(i, i + 5_000))
          .execute();
      }
    });
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

  /**
   * Every dataset with its stored decision, if it has one: moves and held moves first (largest
   * saving first), then the rest by id. A dataset without one (new since the last run, or already
   * at its cheapest placement) comes with `decision: undefined`.
   */
  async everyDataset(
    limit: number,
    offset: number,
  ): Promise<{
    rows: { id: number; name: string; size_gb: number; decision: DecisionRow | undefined }[];
    total: number;
  }> {
    const rows = await this.db
      .selectFrom('datasets')
      .leftJoin('decisions', 'decisions.dataset_id', 'datasets.id')
      .select(['datasets.id', 'datasets.name', 'datasets.size_gb'])
      .select(DECISION_COLS.map((c) => `decisions.${c}` as const))
      .orderBy(sql`case when decisions.action is not null and decisions.action != 'stay' then 0 else 1 end`)
      .orderBy(sql`coalesce(decisions.saving_month, 0)`, 'desc')
      .orderBy('datasets.id')
      .limit(limit)
      .offset(offset)
      .execute();
    const total = await this.db
      .selectFrom('datasets')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return {
      rows: rows.map(({ id, name, size_gb, ...d }) => ({
        id,
        name,
        size_gb,
        decision: d.dataset_id === null ? undefined : (d as DecisionRow),
      })),
      total: Number(total.n),
    };
  }

  /** Logs decisions about to be carried out; returns each one's id by dataset. With `fence`, in one transaction under it. */
  async log(rows: readonly DecisionRow[], fence?: Fence): Promise<Map<number, number>> {
    return fenced(this.db, fence, (db) => this.logIn(db, rows));
  }

  private async logIn(db: Kysely<DB>, rows: readonly DecisionRow[]): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    for (let i = 0; i < rows.length; i += 1_000) {
      const part = rows.slice(i, i + 1_000);
      const ids = await db
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
            move_cost: d.move_cost,
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

  /**
   * Not fenced: it only takes back log entries this run wrote a moment ago (no other instance
   * knows their ids), also after its lease was lost, so a refused plan leaves no entries behind.
   */
  async unlog(ids: readonly number[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 5_000)
      await this.db
        .deleteFrom('decision_log')
        .where('id', 'in', ids.slice(i, i + 5_000))
        .execute();
  }

  async logged(id: number) {
    return this.db.selectFrom('decision_log').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async latestLogged(limit: number) {
    return this.db
      .selectFrom('decision_log')
      .leftJoin('datasets', 'datasets.id', 'decision_log.dataset_id')
      .selectAll('decision_log')
      .select('datasets.name')
      .orderBy('decision_log.id', 'desc')
      .limit(limit)
      .execute();
  }
}
