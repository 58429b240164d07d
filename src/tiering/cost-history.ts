/**
 * Storage cost per placement now (the overview's grid) and its daily history: each snapshot keeps
 * every placement's bytes and cost per month, and what the same bytes would cost at HOT, so the
 * trend shows the saving against always-HOT and the share of cold data over weeks and months.
 */
import type { Clock } from '../platform';
import type { CostModel } from './cost';
import type { CostHistoryRepository, CostHistoryRow } from './cost-history-repository';
import type { PriceCatalog } from './catalog';
import { PLACEMENTS, placementIndex, placementKey, type Location, type Tier } from './placements';

const DAY = 86_400_000;
const DAYS_PER_MONTH = 30;

export interface PlacementCost {
  location: Location;
  tier: Tier;
  datasets: number;
  bytes: number;
  cost_month: number;
  /** These bytes at the HOT tier of their location. */
  all_hot_month: number;
}

export interface CostDay {
  /** YYYY-MM-DD (UTC). */
  day: string;
  taken_at: string;
  catalog_version: number;
  datasets: number;
  bytes: number;
  cost_month: number;
  all_hot_month: number;
  /** all_hot_month − cost_month: what tiering saves against keeping everything HOT. */
  saving_month: number;
  /** Bytes at COLD over all bytes (0 with no bytes). */
  cold_share: number;
  placements: Record<string, { datasets: number; bytes: number; cost_month: number }>;
}

export interface CostHistoryDeps {
  repo: CostHistoryRepository;
  catalog: () => { version: number; catalog: PriceCatalog; cost: CostModel };
  clock: Clock;
}

export function dayStart(ms: number): number {
  return Math.floor(ms / DAY) * DAY;
}

export class CostHistory {
  constructor(private readonly d: CostHistoryDeps) {}

  /** Every placement that holds data, priced at the current catalog. */
  async placements(): Promise<{ version: number; cells: PlacementCost[] }> {
    const { version, catalog, cost } = this.d.catalog();
    const minBillable = Object.fromEntries(
      PLACEMENTS.map((p) => [placementKey(p), catalog.placements[placementKey(p)]!.min_billable_bytes]),
    );
    const totals = await this.d.repo.placementTotals(minBillable);
    // Billable bytes are summed per dataset with the minimum already applied, so the cost model's
    // per-object minimum (max(size, min)) is a no-op here and the sum prices exactly.
    const cells = totals.map((t) => ({
      location: t.location,
      tier: t.tier,
      datasets: t.datasets,
      bytes: t.bytes,
      cost_month: cost.storage(placementIndex(t), t.billable_here, DAYS_PER_MONTH),
      all_hot_month: cost.storage(
        placementIndex({ location: t.location, tier: 'HOT' }),
        t.billable_hot,
        DAYS_PER_MONTH,
      ),
    }));
    return { version, cells };
  }

  /** Whether today (on the product's clock, UTC) has its snapshot. */
  takenToday(): Promise<boolean> {
    return this.d.repo.has(dayStart(this.d.clock.now()));
  }

  /** Takes today's snapshot (again, if one was taken earlier today: the latest wins). */
  async snapshot(): Promise<CostDay> {
    const now = this.d.clock.now();
    const day = dayStart(now);
    const { version, cells } = await this.placements();
    const rows = cells.map((c) => ({ day, ...c, catalog_version: version, taken_at: now }));
    await this.d.repo.save(day, rows);
    return costDays(rows)[0] ?? emptyDay(day, now, version);
  }

  /** The last `days` days (today included) that have a snapshot, oldest first. */
  async series(days: number): Promise<CostDay[]> {
    const from = dayStart(this.d.clock.now()) - (days - 1) * DAY;
    return costDays(await this.d.repo.since(from));
  }
}

/** Placement rows (sorted by day) folded into one point per day. */
export function costDays(rows: readonly CostHistoryRow[]): CostDay[] {
  const out: (CostDay & { cold: number; at: number })[] = [];
  let cur: (CostDay & { cold: number; at: number }) | undefined;
  for (const r of rows) {
    if (!cur || cur.at !== r.day) {
      cur = { ...emptyDay(r.day, r.taken_at, r.catalog_version), cold: 0, at: r.day };
      out.push(cur);
    }
    cur.datasets += r.datasets;
    cur.bytes += r.bytes;
    cur.cost_month += r.cost_month;
    cur.all_hot_month += r.all_hot_month;
    if (r.tier === 'COLD') cur.cold += r.bytes;
    cur.placements[`${r.location}/${r.tier}`] = { datasets: r.datasets, bytes: r.bytes, cost_month: r.cost_month };
  }
  return out.map(({ cold, at: _at, ...d }) => ({
    ...d,
    saving_month: d.all_hot_month - d.cost_month,
    cold_share: d.bytes > 0 ? cold / d.bytes : 0,
  }));
}

function emptyDay(day: number, takenAt: number, version: number): CostDay {
  return {
    day: new Date(day).toISOString().slice(0, 10),
    taken_at: new Date(takenAt).toISOString(),
    catalog_version: version,
    datasets: 0,
    bytes: 0,
    cost_month: 0,
    all_hot_month: 0,
    saving_month: 0,
    cold_share: 0,
    placements: {},
  };
}
