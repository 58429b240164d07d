import { CompiledQuery, type Insertable, type Kysely, type Selectable, type Updateable } from 'kysely';
import {
  ACTIVE_MOVE_STATES,
  dialectOf,
  type DB,
  type Fence,
  fenced,
  type Location,
  type MoveRow,
  type MoveState,
  type Tier,
} from '../db';
import { ClaimLost } from './claim-lost';

export type ScrubRun = Selectable<DB['scrub_runs']>;
export type ScrubPatch = Omit<Updateable<DB['scrub_runs']>, 'id' | 'trigger' | 'started_at'>;

/** A verification failure as kept: which object, found by what, why. */
export type NewIntegrityFailure = Omit<Insertable<DB['integrity_failures']>, 'id'>;

type DatasetsTable = DB['datasets'];
type MovesTable = DB['moves'];

/** What storage reads of a dataset's row: its placement and its stored object. */
export type ContentRow = Pick<
  Selectable<DatasetsTable>,
  | 'id'
  | 'name'
  | 'tier'
  | 'location'
  | 'object_id'
  | 'content_bytes'
  | 'content_sha256'
  | 'wrapped_key'
  | 'kek_id'
  | 'size_gb'
  | 'content_updated_at'
>;

const CONTENT_COLUMNS = [
  'id',
  'name',
  'tier',
  'location',
  'object_id',
  'content_bytes',
  'content_sha256',
  'wrapped_key',
  'kek_id',
  'size_gb',
  'content_updated_at',
] as const satisfies ReadonlyArray<keyof ContentRow>;

/** A move as planned: the journal's own columns (state, progress, times past creation) start empty. */
export type NewMove = Omit<
  Insertable<MovesTable>,
  'id' | 'state' | 'bytes_done' | 'error' | 'started_at' | 'switched_at' | 'finished_at'
>;

/** A journal update: any of a move's own columns. */
export type MovePatch = Omit<Updateable<MovesTable>, 'id' | 'dataset_id'>;

/** A move planned by the scheduler's batch: the rest of NewMove is read from the dataset's row. */
export type BatchMove = Required<
  Pick<
    NewMove,
    | 'dataset_id'
    | 'from_tier'
    | 'from_location'
    | 'to_tier'
    | 'to_location'
    | 'reason'
    | 'reason_detail'
    | 'decision_id'
  >
>;

/** Where a switch points the dataset: the destination, and the data key re-wrapped for it (none when catalog-only). */
export interface SwitchTo {
  tier: Tier;
  location: Location;
  key?: { wrapped_key: Buffer; kek_id: string };
}

export class StorageRepository {
  constructor(private readonly db: Kysely<DB>) {}

  content(datasetId: number, db: Kysely<DB> = this.db): Promise<ContentRow | undefined> {
    return db.selectFrom('datasets').select(CONTENT_COLUMNS).where('id', '=', datasetId).executeTakeFirst();
  }

  async setContent(
    datasetId: number,
    c: {
      object_id: string;
      content_bytes: number;
      content_sha256: string;
      wrapped_key: Buffer;
      kek_id: string;
      now: number;
    },
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
        // New content replaces whatever was damaged.
        damaged_at: null,
        damage: null,
        verified_at: null,
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

  /**
   * Plans many moves in one statement per thousand. A move is planned only if the dataset is
   * still where the caller saw it and has no unfinished move (the partial unique index turns a
   * second one into an ignored row), so a batch built from a scan never races a manual move.
   * Returns the moves created, by dataset. With `fence`, in one transaction that it checks first.
   */
  async insertMoves(
    items: readonly BatchMove[],
    now: number,
    fence?: Fence,
  ): Promise<{ id: number; dataset_id: number }[]> {
    return fenced(this.db, fence, (db) => this.insertMovesIn(db, items, now));
  }

  private async insertMovesIn(
    db: Kysely<DB>,
    items: readonly BatchMove[],
    now: number,
  ): Promise<{ id: number; dataset_id: number }[]> {
    const out: { id: number; dataset_id: number }[] = [];
    const pg = dialectOf(db) === 'postgres';
    for (let i = 0; i < items.length; i += 1_000) {
      const part = items.slice(i, i + 1_000);
      // PostgreSQL numbers its parameters and types a VALUES list from them (untyped ones are text).
      let n = 1;
      const values = pg
        ? part
            .map(() => {
              const p = Array.from({ length: 8 }, () => `$${++n}`);
              return `(cast(${p[0]} as bigint), ${p.slice(1, 7).join(', ')}, cast(${p[7]} as bigint))`;
            })
            .join(', ')
        : part.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ');
      // Parameters in text order: created_at in the select list, then the VALUES rows.
      const params: unknown[] = [
        now,
        ...part.flatMap((m) => [
          m.dataset_id,
          m.from_tier,
          m.from_location,
          m.to_tier,
          m.to_location,
          m.reason,
          m.reason_detail,
          m.decision_id,
        ]),
      ];
      // VALUES columns are named column1..column8 by both engines. A second unfinished move of a
      // dataset is ignored: `insert or ignore` on SQLite, `on conflict do nothing` on PostgreSQL.
      const r = await db.executeQuery<{ id: number; dataset_id: number }>(
        CompiledQuery.raw(
          `insert ${pg ? '' : 'or ignore '}into moves (dataset_id, from_tier, from_location, to_tier, to_location, reason, reason_detail, decision_id,
                                        catalog_only, object_id, bytes_total, bytes_done, state, created_at)
           select d.id, d.tier, d.location, v.column4, v.column5, v.column6, v.column7, v.column8,
                  case when d.object_id is null then 1 else 0 end, d.object_id, coalesce(d.content_bytes, 0), 0, 'planned', ${pg ? 'cast($1 as bigint)' : '?'}
           from (values ${values}) v
           join datasets d on d.id = v.column1 and d.tier = v.column2 and d.location = v.column3
           where v.column4 <> d.tier or v.column5 <> d.location
           ${pg ? 'on conflict do nothing' : ''}
           returning id, dataset_id`,
          params,
        ),
      );
      out.push(...r.rows);
    }
    return out;
  }

  move(id: number): Promise<MoveRow | undefined> {
    return this.db.selectFrom('moves').selectAll().where('id', '=', id).executeTakeFirst();
  }

  activeMove(datasetId: number): Promise<MoveRow | undefined> {
    return this.db
      .selectFrom('moves')
      .selectAll()
      .where('dataset_id', '=', datasetId)
      .where('state', 'in', ACTIVE_MOVE_STATES)
      .executeTakeFirst();
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

  /** With `owner`: only while that instance claims the move (ClaimLost otherwise), so a stalled owner writes nothing. */
  async setMove(id: number, patch: MovePatch, db: Kysely<DB> = this.db, owner?: string): Promise<void> {
    let q = db.updateTable('moves').set(patch).where('id', '=', id);
    if (owner !== undefined) q = q.where('owner', '=', owner);
    const r = await q.executeTakeFirst();
    if (owner !== undefined && Number(r.numUpdatedRows) === 0) throw new ClaimLost(id);
  }

  /**
   * The switch, in one transaction: the dataset points at its new placement (and, for content,
   * the data key wrapped for it) and the move's journal says so with `patch`.
   */
  async switchMove(
    move: Pick<MoveRow, 'id' | 'dataset_id'>,
    to: SwitchTo,
    patch: MovePatch,
    now: number,
    owner?: string,
  ): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      // The journal first: with `owner`, a move claimed by another instance now refuses the switch.
      await this.setMove(move.id, patch, trx, owner);
      await trx
        .updateTable('datasets')
        .set({
          tier: to.tier,
          location: to.location,
          ...(to.key ?? {}),
          last_storage_migration: now,
          updated_at: now,
        })
        .where('id', '=', move.dataset_id)
        .execute();
    });
  }

  /** Stored objects and their plaintext bytes per location (what the store panel shows). */
  async storedByLocation(): Promise<Array<{ location: Location; objects: number; bytes: number }>> {
    const rows = await this.db
      .selectFrom('datasets')
      .select((eb) => [
        'location',
        eb.fn.count<number>('object_id').as('objects'),
        eb.fn.sum<number>('content_bytes').as('bytes'),
      ])
      .where('object_id', 'is not', null)
      .groupBy('location')
      .execute();
    return rows.map((r) => ({ location: r.location, objects: Number(r.objects), bytes: Number(r.bytes ?? 0) }));
  }

  /** Every object the database points at: anything else in the tier tree is garbage. */
  async referencedObjects(): Promise<Set<string>> {
    const rows = await this.db
      .selectFrom('datasets')
      .select(['object_id', 'location', 'tier'])
      .where('object_id', 'is not', null)
      .execute();
    return new Set(rows.map((r) => `${r.location}/${r.tier}/${r.object_id}`));
  }

  /**
   * Keeps the failure and marks the dataset damaged, if it still holds that object (new content
   * uploaded meanwhile is not what failed).
   */
  async recordDamage(f: NewIntegrityFailure, fence?: Fence): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await fence?.(trx);
      await trx.insertInto('integrity_failures').values(f).execute();
      await trx
        .updateTable('datasets')
        .set({ damaged_at: f.at, damage: f.detail })
        .where('id', '=', f.dataset_id)
        .where('object_id', '=', f.object_id)
        .execute();
    });
  }

  /** The object verified whole: the dataset is no longer damaged (if it still holds that object). */
  async clearDamage(datasetId: number, objectId: string): Promise<boolean> {
    const r = await this.db
      .updateTable('datasets')
      .set({ damaged_at: null, damage: null })
      .where('id', '=', datasetId)
      .where('object_id', '=', objectId)
      .where('damaged_at', 'is not', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** The object read whole and every chunk authenticated: noted, and no longer damaged (if it still holds that object). */
  async markVerified(datasetId: number, objectId: string, now: number, fence?: Fence): Promise<boolean> {
    const r = await fenced(this.db, fence, (db) =>
      db
        .updateTable('datasets')
        .set({ verified_at: now, damaged_at: null, damage: null })
        .where('id', '=', datasetId)
        .where('object_id', '=', objectId)
        .executeTakeFirst(),
    );
    return Number(r.numUpdatedRows) > 0;
  }

  /** Up to `limit` datasets with content, by id after `afterId`: a scrub's next page. */
  contentAfter(afterId: number, limit: number): Promise<ContentRow[]> {
    return this.db
      .selectFrom('datasets')
      .select(CONTENT_COLUMNS)
      .where('id', '>', afterId)
      .where('object_id', 'is not', null)
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  /**
   * `fence` (here and in setScrub, markVerified, recordDamage): the scrub's writes, under its lease.
   * Scrubs never overlap (one process at a time holds the lease, and `run` joins a running one),
   * so any other run still unfinished was abandoned: its instance died, or lost the lease and had
   * its report refused. It is closed with why, in the same fenced write.
   */
  async startScrub(trigger: string, now: number, fence?: Fence): Promise<number> {
    return fenced(this.db, fence, async (db) => {
      const { id } = await db
        .insertInto('scrub_runs')
        .values({ trigger, started_at: now, error: null })
        .returning('id')
        .executeTakeFirstOrThrow();
      const reason = `still unfinished when scrub ${id} started (its instance stopped, or lost the scrub lease and its report was refused)`;
      await closeAbandoned(db, now, reason, id);
      return id;
    });
  }

  /** Closes every unfinished scrub run as abandoned, saying why (`reason`); returns how many. */
  closeAbandonedScrubs(now: number, reason: string): Promise<number> {
    return closeAbandoned(this.db, now, reason);
  }

  async setScrub(id: number, patch: ScrubPatch, fence?: Fence): Promise<void> {
    await fenced(this.db, fence, (db) => db.updateTable('scrub_runs').set(patch).where('id', '=', id).execute());
  }

  lastScrub(): Promise<ScrubRun | undefined> {
    return this.db.selectFrom('scrub_runs').selectAll().orderBy('id', 'desc').limit(1).executeTakeFirst();
  }
}

/** A run closed this way keeps its counts so far; its error says it was abandoned, and why. */
async function closeAbandoned(db: Kysely<DB>, now: number, reason: string, except?: number): Promise<number> {
  let q = db
    .updateTable('scrub_runs')
    .set({ finished_at: now, error: `abandoned: ${reason}` })
    .where('finished_at', 'is', null);
  if (except !== undefined) q = q.where('id', '<>', except);
  return Number((await q.executeTakeFirst()).numUpdatedRows);
}
