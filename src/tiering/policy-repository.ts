import type { Kysely } from 'kysely';
import type { DB, Location, Tier } from '../db';
import type { DatasetPolicy } from './decision';

/** Datasets' own policies (pins, never-tier, latency limits); a dataset without one is auto. */
export class DatasetPolicyRepository {
  /** `reader`: the read-only connection the scheduler's scan reads from. */
  constructor(
    private readonly db: Kysely<DB>,
    private readonly reader: Kysely<DB> = db,
  ) {}

  async get(datasetId: number): Promise<DatasetPolicy | undefined> {
    const r = await this.db
      .selectFrom('dataset_policies')
      .selectAll()
      .where('dataset_id', '=', datasetId)
      .executeTakeFirst();
    return r && toPolicy(r.mode, r.pin_location, r.pin_tier, r.max_latency_ms);
  }

  async set(datasetId: number, p: DatasetPolicy, now: number): Promise<void> {
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

  /** Every dataset's own policy that is not plain auto. */
  async all(): Promise<Map<number, DatasetPolicy>> {
    const rows = await this.reader.selectFrom('dataset_policies').selectAll().execute();
    return new Map(rows.map((r) => [r.dataset_id, toPolicy(r.mode, r.pin_location, r.pin_tier, r.max_latency_ms)]));
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
