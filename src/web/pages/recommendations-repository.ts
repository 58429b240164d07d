import { sql, type Kysely } from 'kysely';
import { tagLikePattern } from '../../datasets';
import type { DB, DecisionsTable, Location, MoveState, Tier } from '../../db';
import type { PolicyModeFilter } from './repository';

type DecisionRow = DecisionsTable;

const GB = 1024 ** 3;
/** A dataset's size in bytes as the cost model sees it (content if stored, else declared size). */
const SIZE_SQL = sql<number>`coalesce(d.content_bytes, d.size_gb * ${GB})`;

export interface RecommendationFilter {
  /** One dataset's decision only (a row's own actions). */
  datasetId?: number;
  tag?: string;
  location?: Location;
  tier?: Tier;
  /** pending: a move or a held move (the default); all: stays (pins, never-tier) too. */
  action: 'pending' | 'move' | 'held' | 'all';
  limit: number;
  offset: number;
}

/** A row of the recommendations page: the stored decision, its dataset, and what is under way. */
export type RecommendationRow = Pick<
  DecisionRow,
  | 'dataset_id'
  | 'action'
  | 'rule'
  | 'from_location'
  | 'from_tier'
  | 'to_location'
  | 'to_tier'
  | 'saving_month'
  | 'move_cost'
  | 'break_even_days'
  | 'made_at'
> & { name: string; size_bytes: number; mode: PolicyModeFilter; move_state: MoveState | null };

/** The recommendations page's queries (on the read-only connection, as the other pages'). */
export class RecommendationsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * One page of stored recommendations, largest saving first (an index on the saving serves the
   * order, so a page costs the same at 100,000 datasets), and the count under the same filter.
   */
  async page(f: RecommendationFilter): Promise<{ rows: RecommendationRow[]; total: number }> {
    const cond = recommendationWhere(f);
    const rows = await sql<RecommendationRow>`
      select x.dataset_id, x.action, x.rule, x.from_location, x.from_tier, x.to_location, x.to_tier, x.saving_month,
             x.move_cost, x.break_even_days, x.made_at, d.name, ${SIZE_SQL} as size_bytes,
             coalesce(p.mode, 'auto') as mode, m.state as move_state
      from decisions x
      join datasets d on d.id = x.dataset_id
      left join dataset_policies p on p.dataset_id = x.dataset_id
      left join moves m on m.dataset_id = x.dataset_id and m.state in ('planned','copying','verifying','switched')
      where ${cond}
      order by x.saving_month desc, x.dataset_id
      limit ${f.limit} offset ${f.offset}`.execute(this.db);
    const total = await sql<{ n: number }>`
      select count(*) as n from decisions x join datasets d on d.id = x.dataset_id where ${cond}`.execute(this.db);
    return { rows: rows.rows, total: Number(total.rows[0]?.n ?? 0) };
  }

  /**
   * The datasets a bulk action over this filter applies to (at most `cap`, largest saving first):
   * those with a recommendation elsewhere, not moving, and under the automatic policy.
   */
  async targets(
    f: Omit<RecommendationFilter, 'limit' | 'offset'>,
    cap: number,
  ): Promise<{
    rows: Pick<RecommendationRow, 'dataset_id' | 'from_location' | 'from_tier' | 'to_location' | 'to_tier'>[];
    total: number;
  }> {
    const cond = sql`${recommendationWhere({ ...f, limit: 0, offset: 0 })} and (x.to_location != x.from_location or x.to_tier != x.from_tier)
      and not exists (select 1 from dataset_policies p where p.dataset_id = x.dataset_id and p.mode != 'auto')
      and not exists (select 1 from moves m where m.dataset_id = x.dataset_id and m.state in ('planned','copying','verifying','switched'))`;
    const rows = await sql<
      Pick<RecommendationRow, 'dataset_id' | 'from_location' | 'from_tier' | 'to_location' | 'to_tier'>
    >`
      select x.dataset_id, x.from_location, x.from_tier, x.to_location, x.to_tier
      from decisions x join datasets d on d.id = x.dataset_id
      where ${cond}
      order by x.saving_month desc, x.dataset_id
      limit ${cap}`.execute(this.db);
    const total = await sql<{ n: number }>`
      select count(*) as n from decisions x join datasets d on d.id = x.dataset_id where ${cond}`.execute(this.db);
    return { rows: rows.rows, total: Number(total.rows[0]?.n ?? 0) };
  }
}

function recommendationWhere(f: RecommendationFilter) {
  const where = [sql`d.location = x.from_location and d.tier = x.from_tier`];
  if (f.action === 'pending') where.push(sql`x.action in ('move', 'held')`);
  else if (f.action !== 'all') where.push(sql`x.action = ${f.action}`);
  if (f.datasetId !== undefined) where.push(sql`x.dataset_id = ${f.datasetId}`);
  if (f.tag) where.push(sql`d.tags like ${tagLikePattern(f.tag)} escape '\\'`);
  if (f.location) where.push(sql`d.location = ${f.location}`);
  if (f.tier) where.push(sql`d.tier = ${f.tier}`);
  return sql.join(where, sql` and `);
}
