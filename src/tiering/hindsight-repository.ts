import { sql, type Kysely, type Selectable } from 'kysely';
import { dialectOf, least, type DB } from '../db';

const DAY = 86_400_000;

/** A logged move with what its window saw: the dataset's next move, and its accesses in the window. */
export type LoggedMoveOutcome = Selectable<DB['decision_log']> & {
  next_at: number | null;
  reads: number;
  writes: number;
  read_bytes: number;
  write_bytes: number;
};

/** What happened after each logged move, for judging it (hindsight.ts). */
export class HindsightRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * The latest `limit` logged moves that were carried out (their move is done; a move that failed
   * or was cancelled changed nothing to judge), newest first, each with its accesses from the move
   * to the end of its window (the dataset's next completed move, manual ones included, its horizon
   * or `now`): hour buckets up to `rolledUntil`,
   * minute buckets after. A bucket's bytes are split between reads and writes by their counts.
   */
  async latest(limit: number, now: number, rolledUntil: number): Promise<LoggedMoveOutcome[]> {
    const dialect = dialectOf(this.db);
    // The horizon in days: the explanation's fourth element (a JSON array).
    const horizonDays =
      dialect === 'postgres'
        ? sql`cast(cast(explanation as json) ->> 3 as double precision)`
        : sql`json_extract(explanation, '$[3]')`;
    const endAt = least(dialect, sql`coalesce(next_at, ${now})`, sql`made_at + ${horizonDays} * ${DAY}`, sql`${now}`);
    const r = await sql<LoggedMoveOutcome>`
      with l as (
        select d.*, (
          select coalesce(n.switched_at, n.finished_at) from moves n
          where n.dataset_id = d.dataset_id and n.id > d.move_id and n.state = 'done' order by n.id limit 1
        ) as next_at
        from (
          select dl.*, mv.id as move_id from decision_log dl
          join moves mv on mv.decision_id = dl.id and mv.state = 'done'
          -- The scheduler's own moves: one queued by hand (priced or linked at queue time, with a
          -- run id of 0 or reason manual/seed) judges the operator, not the policy.
          where dl.run_id <> 0 and mv.reason in ('policy', 'pin')
          order by dl.id desc limit ${limit}
        ) d),
      m as (
        select l.*, ${endAt} as end_at
        from l)
      select m.id, m.dataset_id, m.run_id, m.made_at, m.from_location, m.from_tier, m.to_location, m.to_tier,
        m.rule, m.saving_month, m.catalog_version, m.explanation, m.next_at,
        coalesce(sum(b.reads), 0) as reads, coalesce(sum(b.writes), 0) as writes,
        coalesce(sum(case when b.reads + b.writes > 0 then b.bytes * 1.0 * b.reads / (b.reads + b.writes) else 0 end), 0) as read_bytes,
        coalesce(sum(case when b.reads + b.writes > 0 then b.bytes * 1.0 * b.writes / (b.reads + b.writes) else 0 end), 0) as write_bytes
      from m left join access_buckets b on b.dataset_id = m.dataset_id and b.res in ('h', 'm')
        and b.bucket_start >= m.made_at and b.bucket_start < m.end_at
        and ((b.res = 'h' and b.bucket_start < ${rolledUntil}) or (b.res = 'm' and b.bucket_start >= ${rolledUntil}))
      group by m.id, m.dataset_id, m.run_id, m.made_at, m.from_location, m.from_tier, m.to_location, m.to_tier,
        m.rule, m.saving_month, m.catalog_version, m.explanation, m.next_at
      order by m.id desc`.execute(this.db);
    return r.rows;
  }

  /** Up to when minute buckets have been rolled up into hours. */
  async rolledUntil(): Promise<number> {
    const r = await this.db.selectFrom('bucket_rollup').select('rolled_until').where('id', '=', 1).executeTakeFirst();
    return r?.rolled_until ?? 0;
  }
}
