import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import { type AlertsTable, type DB, type Fence, fenced } from '../db';

export type AlertRow = Selectable<AlertsTable>;
export type NewAlert = Omit<Insertable<AlertsTable>, 'id' | 'closed_at' | 'acknowledged_at' | 'acknowledged_by'>;

/** The newest event of a kind and how many came after a watermark. */
export interface EventTally {
  newest: number;
  since: number;
  /** The newest one's own words (its error or detail). */
  latest: string | null;
}

/** The alerts table, and the events alerts are raised for (read only). */
export class AlertRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async open(): Promise<AlertRow[]> {
    const rows = await this.db.selectFrom('alerts').selectAll().where('closed_at', 'is', null).orderBy('id').execute();
    return rows.map(numeric);
  }

  async recent(limit: number): Promise<AlertRow[]> {
    const rows = await this.db.selectFrom('alerts').selectAll().orderBy('id', 'desc').limit(limit).execute();
    return rows.map(numeric);
  }

  async get(id: number): Promise<AlertRow | undefined> {
    const r = await this.db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
    return r && numeric(r);
  }

  /** `fence`: opened only while the alerts lease is this instance's (checked in the same transaction). */
  async insert(a: NewAlert, fence?: Fence): Promise<AlertRow> {
    return fenced(this.db, fence, async (db) =>
      numeric(await db.insertInto('alerts').values(a).returningAll().executeTakeFirstOrThrow()),
    );
  }

  /** `fence`: the check's own updates, under the alerts lease (an operator's acknowledgement has none). */
  async update(id: number, patch: Updateable<AlertsTable>, fence?: Fence): Promise<AlertRow | undefined> {
    const r = await fenced(this.db, fence, (db) =>
      db.updateTable('alerts').set(patch).where('id', '=', id).returningAll().executeTakeFirst(),
    );
    return r && numeric(r);
  }

  /** Closes the alert unless it is closed already; the row when this call closed it. `fence`: as update's. */
  async close(id: number, now: number, fence?: Fence): Promise<AlertRow | undefined> {
    const r = await fenced(this.db, fence, (db) =>
      db
        .updateTable('alerts')
        .set({ closed_at: now })
        .where('id', '=', id)
        .where('closed_at', 'is', null)
        .returningAll()
        .executeTakeFirst(),
    );
    return r && numeric(r);
  }

  /**
   * Deletes closed alerts that closed before `before`, then those closed first beyond
   * `maxRows` alerts in all; open alerts stay, and so does each kind's latest acknowledged one
   * (its watermark says which events were covered: without it they would alert again).
   * Returns how many went. `fence`: all of it in one transaction under the alerts lease.
   */
  async prune(before: number, maxRows: number, fence?: Fence): Promise<number> {
    return fenced(this.db, fence, (db) => pruneIn(db, before, maxRows));
  }

  /** An alert of this key was closed at or after `since` (acknowledged, or its state cleared). */
  async closedSince(key: string, since: number): Promise<boolean> {
    const r = await this.db
      .selectFrom('alerts')
      .select('id')
      .where('key', '=', key)
      .where('closed_at', '>=', since)
      .limit(1)
      .executeTakeFirst();
    return r !== undefined;
  }

  /** The newest event of this key that an acknowledgement covered (0: none). */
  async covered(key: string): Promise<number> {
    const r = await this.db
      .selectFrom('alerts')
      .select((eb) => eb.fn.max('watermark').as('w'))
      .where('key', '=', key)
      .where('acknowledged_at', 'is not', null)
      .executeTakeFirst();
    return Number(r?.w ?? 0);
  }

  async failedMoves(after: number): Promise<EventTally> {
    const r = await this.db
      .selectFrom('moves')
      .select((eb) => [eb.fn.max('id').as('newest'), eb.fn.countAll<number>().as('n')])
      .where('state', '=', 'failed')
      .where('id', '>', after)
      .executeTakeFirstOrThrow();
    const newest = Number(r.newest ?? 0);
    const latest =
      newest > 0
        ? await this.db.selectFrom('moves').select(['error', 'dataset_id']).where('id', '=', newest).executeTakeFirst()
        : undefined;
    return {
      newest,
      since: Number(r.n),
      latest: latest
        ? `move #${newest} of dataset ${latest.dataset_id}: ${latest.error ?? 'no reason recorded'}`
        : null,
    };
  }

  async integrityFailures(after: number): Promise<EventTally> {
    const r = await this.db
      .selectFrom('integrity_failures')
      .select((eb) => [eb.fn.max('id').as('newest'), eb.fn.countAll<number>().as('n')])
      .where('id', '>', after)
      .executeTakeFirstOrThrow();
    const newest = Number(r.newest ?? 0);
    const latest =
      newest > 0
        ? await this.db
            .selectFrom('integrity_failures')
            .select(['dataset_id', 'found_by', 'detail'])
            .where('id', '=', newest)
            .executeTakeFirst()
        : undefined;
    return {
      newest,
      since: Number(r.n),
      latest: latest ? `dataset ${latest.dataset_id}, found by ${latest.found_by}: ${latest.detail}` : null,
    };
  }
}

async function pruneIn(db: Kysely<DB>, before: number, maxRows: number): Promise<number> {
  const keep = db
    .selectFrom('alerts')
    .select((eb) => eb.fn.max('id').as('id'))
    .where('acknowledged_at', 'is not', null)
    .groupBy('key');
  const old = await db
    .deleteFrom('alerts')
    .where('closed_at', 'is not', null)
    .where('closed_at', '<', before)
    .where('id', 'not in', keep)
    .executeTakeFirst();
  let gone = Number(old.numDeletedRows);
  const total = await db
    .selectFrom('alerts')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  const over = Number(total.n) - maxRows;
  if (over > 0) {
    const ids = await db
      .selectFrom('alerts')
      .select('id')
      .where('closed_at', 'is not', null)
      .where('id', 'not in', keep)
      .orderBy('closed_at')
      .orderBy('id')
      .limit(over)
      .execute();
    for (let i = 0; i < ids.length; i += 1_000) {
      const r = await db
        .deleteFrom('alerts')
        .where(
          'id',
          'in',
          ids.slice(i, i + 1_000).map((x) => x.id),
        )
        .executeTakeFirst();
      gone += Number(r.numDeletedRows);
    }
  }
  return gone;
}

/** PostgreSQL hands bigint columns back as text. */
function numeric(r: AlertRow): AlertRow {
  return {
    ...r,
    watermark: Number(r.watermark),
    opened_at: Number(r.opened_at),
    closed_at: r.closed_at === null ? null : Number(r.closed_at),
    acknowledged_at: r.acknowledged_at === null ? null : Number(r.acknowledged_at),
  };
}
