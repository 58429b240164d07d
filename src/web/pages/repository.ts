import { sql, type Kysely, type RawBuilder } from 'kysely';
import {
  ACTIVE_MOVE_STATES,
  asFlag,
  type DB,
  type DatasetRow,
  type DecisionsTable,
  type Location,
  type MoveRow,
  type MoveState,
  type Tier,
} from '../../db';
import { tagLikePattern } from '../../datasets';
import { RecommendationsRepository } from './recommendations-repository';

type DecisionRow = DecisionsTable;

const GB = 1024 ** 3;
/** A dataset's size in bytes as the cost model sees it (content if stored, else declared size). */
const SIZE_SQL = sql<number>`coalesce(d.content_bytes, d.size_gb * ${GB})`;
/** Sorts whose page ids are read from an index on dataset_stats (migrations 021 and 022), by their value there. */
const STAT_SORTS = { accesses: sql`s.reads + s.writes`, last_access: sql`s.last_access` } as const;

export type PolicyModeFilter = 'auto' | 'pinned' | 'never-tier';
export type DatasetPageSort = 'name' | 'size' | 'created' | 'accesses' | 'last_access';

export interface DatasetPageFilter {
  q?: string;
  /** One tag the dataset carries (see datasets' tagLikePattern). */
  tag?: string;
  tier?: Tier;
  location?: Location;
  mode?: PolicyModeFilter;
  sort: DatasetPageSort;
  order: 'asc' | 'desc';
  limit: number;
  offset: number;
}

/** What the datasets page shows beside a dataset's own columns (read for the page's rows only). */
interface PageExtras {
  /** JSON array of strings. */
  tags: string;
  /** The move under way, if any: where to. */
  move_state: MoveState | null;
  move_to_location: Location | null;
  move_to_tier: Tier | null;
  /** The stored recommendation (absent: already at its cheapest placement, or not decided yet). */
  rec_action: DecisionRow['action'] | null;
  rec_rule: string | null;
  rec_to_location: Location | null;
  rec_to_tier: Tier | null;
  rec_saving_month: number | null;
}

const NO_EXTRAS: PageExtras = {
  tags: '[]',
  move_state: null,
  move_to_location: null,
  move_to_tier: null,
  rec_action: null,
  rec_rule: null,
  rec_to_location: null,
  rec_to_tier: null,
  rec_saving_month: null,
};

/** A row of the datasets page: the dataset's own columns, and what the page computes for it. */
export type DatasetPageRow = Pick<DatasetRow, 'id' | 'name' | 'tier' | 'location' | 'created_at'> & {
  size_bytes: number;
  has_content: number;
  accesses: number;
  last_access: number | null;
  mode: PolicyModeFilter;
  migrating: number;
} & PageExtras;

/** Completed moves grouped by their from and to placements. */
export type FlowRow = Pick<MoveRow, 'from_location' | 'from_tier' | 'to_location' | 'to_tier'> & {
  moves: number;
  bytes: number;
};

export type MoveWithName = MoveRow & { name: string | null };

export interface QueueTotals {
  /** Planned, not started. */
  queued: number;
  /** Copying, verifying or switched. */
  running: number;
  /** Bytes still to copy over all of them. */
  bytes_left: number;
  /** Of them, moves that change the placement record only. */
  catalog_only: number;
}

/**
 * The pages' own read queries: aggregates and pages no service offers. They run on the
 * read-only connection (a consistent WAL snapshot on its own thread), so a page over 100,000
 * datasets never holds up ingest or moves on the main connection.
 */
export class PagesRepository {
  /** The recommendations page's queries, on the same connection. */
  readonly recommendations: RecommendationsRepository;

  constructor(private readonly db: Kysely<DB>) {
    this.recommendations = new RecommendationsRepository(db);
  }

  /**
   * A fingerprint that changes when a dataset is added or removed or a move is queued or ends:
   * what moves bytes between placements. Index lookups only (no scan of the datasets).
   */
  async changeFingerprint(): Promise<string> {
    const r = await sql<{ d_max: number | null; d_n: number; m_max: number | null; m_active: number }>`
      select (select max(id) from datasets) as d_max, (select count(*) from datasets) as d_n,
             (select max(id) from moves) as m_max,
             (select count(*) from moves where state in ('planned','copying','verifying','switched')) as m_active`.execute(
      this.db,
    );
    const x = r.rows[0];
    return x ? `${x.d_max}:${x.d_n}:${x.m_max}:${x.m_active}` : '';
  }

  /** Every access ever counted (reads and writes). */
  async totalAccesses(): Promise<number> {
    const r = await this.db
      .selectFrom('dataset_stats')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>(eb('reads', '+', eb.ref('writes'))), eb.lit(0)).as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
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

  /** Moves not finished, in the order they are worked on: running ones first, then the queue oldest first. */
  activeMoves(limit: number): Promise<MoveWithName[]> {
    return this.db
      .selectFrom('moves as m')
      .leftJoin('datasets as d', 'd.id', 'm.dataset_id')
      .selectAll('m')
      .select('d.name')
      .where('m.state', 'in', ACTIVE_MOVE_STATES)
      .orderBy(sql`case when m.state = 'planned' then 1 else 0 end`)
      .orderBy('m.id')
      .limit(limit)
      .execute();
  }

  /**
   * The move queue's totals: moves waiting and running, and the bytes still to copy (a running
   * move's come from its journal, counted in encrypted bytes; a planned move's are its dataset's
   * content size, which the encryption's label and tags exceed by about 0.2%; a catalog-only move
   * copies none).
   */
  async queueTotals(): Promise<QueueTotals> {
    const r = await sql<{ state: MoveState; moves: number; bytes_left: number | null; catalog_only: number | null }>`
      select m.state as state, count(*) as moves,
             sum(case when m.catalog_only = 1 then 0
                      when m.bytes_total > 0 then m.bytes_total - m.bytes_done
                      else coalesce(d.content_bytes, 0) end) as bytes_left,
             sum(m.catalog_only) as catalog_only
      from moves m left join datasets d on d.id = m.dataset_id
      where m.state in ('planned','copying','verifying','switched')
      group by m.state`.execute(this.db);
    const t: QueueTotals = { queued: 0, running: 0, bytes_left: 0, catalog_only: 0 };
    for (const x of r.rows) {
      if (x.state === 'planned') t.queued += Number(x.moves);
      else t.running += Number(x.moves);
      t.bytes_left += Number(x.bytes_left ?? 0);
      t.catalog_only += Number(x.catalog_only ?? 0);
    }
    return t;
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
   * tie-breaker (by accesses, the page's ids come from an index first), and only `limit` rows are
   * built. The count runs over the same filter.
   */
  async datasetPage(f: DatasetPageFilter): Promise<{ rows: DatasetPageRow[]; total: number }> {
    const where = [sql`1 = 1`];
    // lower() on both sides: SQLite's like ignores ASCII case, PostgreSQL's does not.
    if (f.q)
      where.push(sql`lower(d.name) like lower(${'%' + f.q.replace(/[\\%_]/g, (m) => '\\' + m) + '%'}) escape '\\'`);
    if (f.tag) where.push(sql`d.tags like ${tagLikePattern(f.tag)} escape '\\'`);
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
    const ids =
      f.sort === 'accesses' || f.sort === 'last_access' ? await this.idsByStat(f, cond, STAT_SORTS[f.sort]) : undefined;
    if (ids?.length === 0) return { rows: [], total: await this.datasetTotal(f, cond) };
    const page = await sql<Omit<DatasetPageRow, keyof PageExtras>>`
      select d.id, d.name, d.tier, d.location, ${SIZE_SQL} as size_bytes, ${asFlag(sql`d.object_id is not null`)} as has_content, d.created_at,
             coalesce(s.reads + s.writes, 0) as accesses, s.last_access, coalesce(p.mode, 'auto') as mode,
             ${asFlag(sql`exists (select 1 from moves m where m.dataset_id = d.id and m.state in ('planned','copying','verifying','switched'))`)} as migrating
      from datasets d
      left join dataset_stats s on s.dataset_id = d.id
      left join dataset_policies p on p.dataset_id = d.id
      where ${ids ? sql`d.id in (${sql.join(ids)})` : cond}
      order by ${key} ${dir}, d.id ${dir}
      ${ids ? sql`` : sql`limit ${f.limit} offset ${f.offset}`}`.execute(this.db);
    // What the page adds (tags, the move under way, the recommendation) is read for its rows
    // only: joined into the sort above, it would be looked up for every dataset sorted.
    const extras = await this.pageExtras(page.rows.map((r) => r.id));
    const rows = page.rows.map((r) => ({ ...r, ...(extras.get(r.id) ?? NO_EXTRAS) }));
    return { rows, total: await this.datasetTotal(f, cond) };
  }

  private async datasetTotal(f: DatasetPageFilter, cond: RawBuilder<unknown>): Promise<number> {
    // The count needs the joins only for what the filter looks at.
    const needsPolicy = f.mode !== undefined;
    const total = await sql<{ n: number }>`
      select count(*) as n from datasets d ${needsPolicy ? sql`left join dataset_policies p on p.dataset_id = d.id` : sql``}
      where ${cond}`.execute(this.db);
    return Number(total.rows[0]?.n ?? 0);
  }

  /**
   * The page's ids by a statistic (accesses, last access), read in order from its index on
   * dataset_stats (a sort on the coalesced value over the join would sort every dataset).
   * Datasets never accessed (no statistics, or a value of 0) all tie at 0 and follow by id: after
   * the accessed ones in descending order, before them in ascending order.
   */
  private async idsByStat(
    f: DatasetPageFilter,
    cond: RawBuilder<unknown>,
    stat: RawBuilder<unknown>,
  ): Promise<number[]> {
    const dir = sql.raw(f.order === 'desc' ? 'desc' : 'asc');
    const accessed = (limit: number, offset: number) => sql<{ id: number }>`
      select s.dataset_id as id from dataset_stats s
      join datasets d on d.id = s.dataset_id
      left join dataset_policies p on p.dataset_id = d.id
      where ${cond} and ${stat} > 0
      order by ${stat} ${dir}, s.dataset_id ${dir}
      limit ${limit} offset ${offset}`;
    const quiet = (limit: number, offset: number) => sql<{ id: number }>`
      select d.id from datasets d
      left join dataset_stats s on s.dataset_id = d.id
      left join dataset_policies p on p.dataset_id = d.id
      where ${cond} and coalesce(${stat}, 0) <= 0
      order by d.id ${dir}
      limit ${limit} offset ${offset}`;
    const [first, second] = f.order === 'desc' ? [accessed, quiet] : [quiet, accessed];
    const head = (await first(f.limit, f.offset).execute(this.db)).rows.map((r) => Number(r.id));
    if (head.length === f.limit) return head;
    // The first run ends on this page or before it: how many rows it has places the second.
    let firstRows = f.offset + head.length;
    if (head.length === 0 && f.offset > 0) {
      const n = await sql<{ n: number }>`select count(*) as n from (${first(f.offset, 0)}) x`.execute(this.db);
      firstRows = Number(n.rows[0]?.n ?? 0);
    }
    const rest = await second(f.limit - head.length, Math.max(0, f.offset - firstRows)).execute(this.db);
    return [...head, ...rest.rows.map((r) => Number(r.id))];
  }

  private async pageExtras(ids: readonly number[]): Promise<Map<number, PageExtras>> {
    if (ids.length === 0) return new Map();
    const r = await sql<PageExtras & { id: number }>`
      select d.id, d.tags, m.state as move_state, m.to_location as move_to_location, m.to_tier as move_to_tier,
             x.action as rec_action, x.rule as rec_rule, x.to_location as rec_to_location, x.to_tier as rec_to_tier,
             x.saving_month as rec_saving_month
      from datasets d
      left join moves m on m.dataset_id = d.id and m.state in ('planned','copying','verifying','switched')
      left join decisions x on x.dataset_id = d.id
      where d.id in (${sql.join(ids)})`.execute(this.db);
    return new Map(r.rows.map(({ id, ...x }) => [id, x]));
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
