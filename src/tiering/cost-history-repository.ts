import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import type { CostHistoryTable, DB, Location, Tier } from '../db';

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

export type CostHistoryRow = Selectable<CostHistoryTable>;

/** Where the bytes are now, and the daily snapshots of what they cost. */
export class CostHistoryRepository {
  /** `reader`: the read-only connection (the totals scan every dataset). */
  constructor(
    private readonly db: Kysely<DB>,
    private readonly reader: Kysely<DB> = db,
  ) {}

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
    const r = await sql<PlacementTotal>`
      with mb(location, tier, min_here, min_hot) as (values ${sql.join(rows)})
      select d.location as location, d.tier as tier, count(*) as datasets, sum(${SIZE_SQL}) as bytes,
             sum(case when ${SIZE_SQL} > mb.min_here then ${SIZE_SQL} else mb.min_here end) as billable_here,
             sum(case when ${SIZE_SQL} > mb.min_hot then ${SIZE_SQL} else mb.min_hot end) as billable_hot
      from datasets d join mb on mb.location = d.location and mb.tier = d.tier
      group by d.location, d.tier`.execute(this.reader);
    return r.rows.map((x) => ({
      location: x.location,
      tier: x.tier,
      datasets: Number(x.datasets),
      bytes: Number(x.bytes),
      billable_here: Number(x.billable_here),
      billable_hot: Number(x.billable_hot),
    }));
  }

  /** Whether the day (its UTC start) has a snapshot. */
  async has(day: number): Promise<boolean> {
    const r = await this.db.selectFrom('cost_history').select('day').where('day', '=', day).limit(1).executeTakeFirst();
    return r !== undefined;
  }

  /** Writes a day's snapshot, replacing one taken earlier that day (the last of the day wins). */
  async save(day: number, rows: readonly Insertable<CostHistoryTable>[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('cost_history').where('day', '=', day).execute();
      if (rows.length > 0)
        await trx
          .insertInto('cost_history')
          .values([...rows])
          .execute();
    });
  }

  /** Every placement row of the days from `fromDay` on, oldest first. */
  async since(fromDay: number): Promise<CostHistoryRow[]> {
    const rows = await this.db
      .selectFrom('cost_history')
      .selectAll()
      .where('day', '>=', fromDay)
      .orderBy('day')
      .orderBy('location')
      .orderBy('tier')
      .execute();
    // PostgreSQL hands bigint back as text.
    return rows.map((r) => ({ ...r, day: Number(r.day), bytes: Number(r.bytes), taken_at: Number(r.taken_at) }));
  }
}
