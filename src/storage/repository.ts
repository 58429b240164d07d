import type { Kysely } from 'kysely';
import { ACTIVE_MOVE_STATES, type DB, type Location, type MoveRow, type MoveState, type Tier } from '../db/schema';

export interface ContentRow {
  id: number;
  tier: Tier;
  location: Location;
  object_id: string | null;
  content_bytes: number | null;
  content_sha256: string | null;
  wrapped_key: Buffer | null;
  kek_id: string | null;
  size_gb: number;
}

export interface NewMove {
  dataset_id: number;
  from_tier: Tier;
  from_location: Location;
  to_tier: Tier;
  to_location: Location;
  reason: string;
  reason_detail: string | null;
  decision_id: number | null;
  catalog_only: number;
  object_id: string | null;
  bytes_total: number;
  created_at: number;
}

export function isActiveMoveConflict(err: unknown): boolean {
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' && /UNIQUE constraint failed: moves\.dataset_id/.test(message);
}

export class StorageRepository {
  constructor(private readonly db: Kysely<DB>) {}

  content(datasetId: number, db: Kysely<DB> = this.db): Promise<ContentRow | undefined> {
    return db
      .selectFrom('datasets')
      .select(['id', 'tier', 'location', 'object_id', 'content_bytes', 'content_sha256', 'wrapped_key', 'kek_id', 'size_gb'])
      .where('id', '=', datasetId)
      .executeTakeFirst();
  }

  async setContent(
    datasetId: number,
    c: { object_id: string; content_bytes: number; content_sha256: string; wrapped_key: Buffer; kek_id: string; now: number },
  ): Promise<boolean> {
    const r = await this.db
      .updateTable('datasets')
      .set({
        object_id: c.object_id,
        content_bytes: c.content_bytes,
        content_sha256: c.content_sha256,
        wrapped_key: c.wrapped_key,
        kek_id: c.kek_id,
        content_updated_at: c.now,
        updated_at: c.now,
        size_gb: c.content_bytes / 1e9,
      })
      .where('id', '=', datasetId)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  insertMove(m: NewMove): Promise<number> {
    return this.db
      .insertInto('moves')
      .values({ ...m, state: 'planned', bytes_done: 0 })
      .returning('id')
      .executeTakeFirstOrThrow()
      .then((r) => r.id);
  }

  move(id: number): Promise<MoveRow | undefined> {
    return this.db.selectFrom('moves').selectAll().where('id', '=', id).executeTakeFirst();
  }

  activeMove(datasetId: number): Promise<MoveRow | undefined> {
    return this.db.selectFrom('moves').selectAll().where('dataset_id', '=', datasetId).where('state', 'in', ACTIVE_MOVE_STATES).executeTakeFirst();
  }

  movesIn(states: readonly MoveState[], limit = 1000): Promise<MoveRow[]> {
    return this.db.selectFrom('moves').selectAll().where('state', 'in', states).orderBy('id').limit(limit).execute();
  }

  listMoves(f: { state?: MoveState; datasetId?: number; limit: number; offset: number }): Promise<MoveRow[]> {
    let q = this.db.selectFrom('moves').selectAll();
    if (f.state) q = q.where('state', '=', f.state);
    if (f.datasetId) q = q.where('dataset_id', '=', f.datasetId);
    return q.orderBy('id', 'desc').limit(f.limit).offset(f.offset).execute();
  }

  async setMove(id: number, patch: Partial<Omit<MoveRow, 'id'>>, db: Kysely<DB> = this.db): Promise<void> {
    await db.updateTable('moves').set(patch).where('id', '=', id).execute();
  }

  /** Every object the database points at: anything else in the tier tree is garbage. */
  async referencedObjects(): Promise<Set<string>> {
    const rows = await this.db.selectFrom('datasets').select(['object_id', 'location', 'tier']).where('object_id', 'is not', null).execute();
    return new Set(rows.map((r) => `${r.location}/${r.tier}/${r.object_id}`));
  }
}
