import { sql, type Kysely } from 'kysely';
import {
  ACTIVE_MOVE_STATES,
  asFlag,
  dialectOf,
  greatest,
  type DB,
  type DatasetRow,
  type Location,
  type MoveRow,
  type MoveState,
  type Tier,
} from '../../db';

const GB = 1024 ** 3;
/** A dataset's size in bytes as the cost model sees it (content if stored, else declared size). */
const SIZE_SQL = sql<number>`coalesce(d.content_bytes, d.size_gb * ${GB})`;

export interface PlacementTotal {
  location: Location;
  tier: Tier;
  datasets: number;
  bytes: number;
  /** Σ max(size, the placement's minimum billable size): what storage is billed on. */
  billable_here: number;
  /** The same at the HOT tier of the dataset's location: "if everything were HOT". */
  billable_hot: number;
}

export type PolicyModeFilter = 'auto' | 'pinned' | 'never-tier';
export type DatasetPageSort = 'name' | 'size' | 'created' | 'accesses' | 'last_access';

export interface DatasetPageFilter {
  q?: string;
  tier?: Tier;
  location?: Location;
  mode?: PolicyModeFilter;
  sort: DatasetPageSort;
  order: 'asc' | 'desc';
  limit: number;
  offset: number;
}

/** A row of the datasets page: the dataset's own columns, and what the page computes for it. */
export type DatasetPageRow = Pick<DatasetRow, 'id' | 'name' | 'tier' | 'location' | 'created_at'> & {
  size_bytes: number;
  has_content: number;
  accesses: number;
  last_access: number | null;
  mode: PolicyModeFilter;
  migrating: number;
};

/** Completed moves grouped by their from and to placements. */
export type FlowRow = Pick<MoveRow, 'from_location' | 'from_tier' | 'to_location' | 'to_tier'> & {
  moves: number;
  bytes: number;
};

export type MoveWithName = MoveRow & { name: string | null };

/**
 * The pages' own read queries: aggregates and pages no service offers. They run on the
 * read-only connection (a consistent WAL snapshot on its own thread), so a page over 100,000
 * datasets never holds up ingest or moves on the main connection.
 */
export class PagesRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * Datasets and bytes per placement, with the billable bytes for the storage cost here and at
   * HOT. `minBillable` is keyed `LOCATION/TIER` (the current catalog's minimum billable sizes).
   */
  async placementTotals(minBillable: Record<string, number>): Promise<PlacementTotal[]> {
    const rows = Object.entries(minBillable).map(([key, min]) => {
      const [location, tier] = key.split('/') as [Location, Tier];
      // Typed: PostgreSQL cannot infer a type for a parameter in a VALUES list.
      return sql`(${location}, ${tier}, cast(${min} as double precision), cast(${minBillable[`${location}/HOT`] ?? 0} as double precision))`;
    });
    const dialect = dialectOf(this.db);
    const r = await sql<PlacementTotal>`
      with mb(location, tier, min_here, min_hot) as (values ${sql.join(rows)})
      select d.location as location, d.tier as tier, count(*) as datasets, sum(${SIZE_SQL}) as bytes,
             sum(${greatest(dialect, SIZE_SQL, sql`mb.min_here`)}) as billable_here,
             sum(${greatest(dialect, SIZE_SQL, sql`mb.min_hot`)}) as billable_hot
      from datasets d join mb on mb.location = d.location and mb.tier = d.tier
      group by d.location, d.tier`.execute(this.db);
    return r.rows;
  }

  /** Every access ever counted (reads and writes). */
  async totalAccesses(): Promise<number> {
    const r = await this.db
      .selectFrom('dataset_stats')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>(eb('reads', '+', eb.ref('writes'))), eb.lit(0)).as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /**
   * Recommendations not yet carried out: stored decisions to move (or held back) whose dataset
   * is still where the decision found it and not moving. Their saving is per month.
   */
  async pendingRecommendations(): Promise<{ datasets: number; saving_month: number }> {
    const r = await sql<{ datasets: number; saving_month: number | null }>`
      select count(*) as datasets, sum(x.saving_month) as saving_month
      from decisions x join datasets d on d.id = x.dataset_id
      where x.action != 'stay' and x.saving_month > 0 and d.location = x.from_location and d.tier = x.from_tier
        and not exists (select 1 from moves m where m.dataset_id = d.id and m.state in ('planned','copying','verifying','switched'))`.execute(
      this.db,
    );
    const row = r.rows[0];
    return { datasets: Number(row?.datasets ?? 0), saving_month: Number(row?.saving_month ?? 0) };
  }

  /** The latest decisions that became moves, with their dataset's name. */
  latestDecisions(limit: number) {
    return this.db
      .selectFrom('decision_log as l')
      .leftJoin('datasets as d', 'd.id', 'l.dataset_id')
      .select([
        'l.id',
        'l.dataset_id',
        'l.made_at',
        'l.from_location',
        'l.from_tier',
        'l.to_location',
        'l.to_tier',
        'l.rule',
        'l.saving_month',
        'd.name',
      ])
      .orderBy('l.id', 'desc')
      .limit(limit)
      .execute();
  }

  /** Moves in the given states (or all), newest first, with their dataset's name. */
  async moves(f: {
    states?: readonly MoveState[];
    datasetId?: number;
    limit: number;
    beforeId?: number;
  }): Promise<MoveWithName[]> {
    let q = this.db
      .selectFrom('moves as m')
      .leftJoin('datasets as d', 'd.id', 'm.dataset_id')
      .selectAll('m')
      .select('d.name');
    if (f.states) q = q.where('m.state', 'in', f.states);
    if (f.datasetId !== undefined) q = q.where('m.dataset_id', '=', f.datasetId);
    if (f.beforeId !== undefined) q = q.where('m.id', '<', f.beforeId);
    return q.orderBy('m.id', 'desc').limit(f.limit).execute();
  }

  activeMoves(limit: number): Promise<MoveWithName[]> {
    return this.moves({ states: ACTIVE_MOVE_STATES, limit });
  }

  /** Completed moves between placements: count and bytes (a catalog-only move counts its declared size). */
  async flows(since: number): Promise<FlowRow[]> {
    const r = await sql<FlowRow>`
      select m.from_location, m.from_tier, m.to_location, m.to_tier, count(*) as moves,
             sum(case when m.catalog_only = 1 then coalesce(d.size_gb * ${GB}, 0) else m.bytes_total end) as bytes
      from moves m left join datasets d on d.id = m.dataset_id
      where m.state = 'done' and m.created_at >= ${since}
      group by m.from_location, m.from_tier, m.to_location, m.to_tier`.execute(this.db);
    return r.rows;
  }

  /** Counts by state, for the moves page's headline. */
  async moveCounts(): Promise<Record<string, number>> {
    const rows = await this.db
      .selectFrom('moves')
      .select((eb) => ['state', eb.fn.countAll<number>().as('n')])
      .groupBy('state')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  }

  /**
   * One page of the datasets table. Filters use indexed columns where there are some (tier and
   * location), the name search is a substring match; sorting is by an expression with the id as
   * tie-breaker, and only `limit` rows are built. The count runs over the same filter.
   */
  async datasetPage(f: DatasetPageFilter): Promise<{ rows: DatasetPageRow[]; total: number }> {
    const where = [sql`1 = 1`];
    // lower() on both sides: SQLite's like ignores ASCII case, PostgreSQL's does not.
    if (f.q)
      where.push(sql`lower(d.name) like lower(${'%' + f.q.replace(/[\\%_]/g, (m) => '\\' + m) + '%'}) escape '\\'`);
    if (f.tier) where.push(sql`d.tier = ${f.tier}`);
    if (f.location) where.push(sql`d.location = ${f.location}`);
    if (f.mode === 'auto') where.push(sql`(p.mode is null or p.mode = 'auto')`);
    else if (f.mode) where.push(sql`p.mode = ${f.mode}`);
    const cond = sql.join(where, sql` and `);
    const dir = sql.raw(f.order === 'desc' ? 'desc' : 'asc');
    const key = {
      name: sql`d.name`,
      size: sql`coalesce(d.content_bytes, d.size_gb * ${GB})`,
      created: sql`d.created_at`,
      accesses: sql`coalesce(s.reads + s.writes, 0)`,
      last_access: sql`coalesce(s.last_access, 0)`,
    }[f.sort];
    const rows = await sql<DatasetPageRow>`
      select d.id, d.name, d.tier, d.location, ${SIZE_SQL} as size_bytes, ${asFlag(sql`d.object_id is not null`)} as has_content, d.created_at,
             coalesce(s.reads + s.writes, 0) as accesses, s.last_access, coalesce(p.mode, 'auto') as mode,
             ${asFlag(sql`exists (select 1 from moves m where m.dataset_id = d.id and m.state in ('planned','copying','verifying','switched'))`)} as migrating
      from datasets d
      left join dataset_stats s on s.dataset_id = d.id
      left join dataset_policies p on p.dataset_id = d.id
      where ${cond}
      order by ${key} ${dir}, d.id ${dir}
      limit ${f.limit} offset ${f.offset}`.execute(this.db);
    // The count needs the joins only for what the filter looks at.
    const needsPolicy = f.mode !== undefined;
    const total = await sql<{ n: number }>`
      select count(*) as n from datasets d ${needsPolicy ? sql`left join dataset_policies p on p.dataset_id = d.id` : sql``}
      where ${cond}`.execute(this.db);
    return { rows: rows.rows, total: Number(total.rows[0]?.n ?? 0) };
  }

  async datasetCount(): Promise<number> {
    const r = await this.db
      .selectFrom('datasets')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Matured forecasts since `since` (newest first, at most `limit`), for quality by day. */
  async maturedSince(since: number, limit: number) {
    return this.db
      .selectFrom('forecast_observations')
      .select(['matured_at', 'predicted', 'seed_regression', 'seed_ewma', 'actual'])
      .where('matured_at', '>=', since)
      .where('actual', 'is not', null)
      .orderBy('matured_at', 'desc')
      .limit(limit)
      .execute() as Promise<
      { matured_at: number; predicted: number; seed_regression: number; seed_ewma: number; actual: number }[]
    >;
  }

  /** One dataset's matured forecasts (predicted against actual), newest first. */
  datasetObservations(datasetId: number, limit: number) {
    return this.db
      .selectFrom('forecast_observations')
      .select(['observed_at', 'due_at', 'predicted', 'actual', 'matured_at'])
      .where('dataset_id', '=', datasetId)
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
  }
}
