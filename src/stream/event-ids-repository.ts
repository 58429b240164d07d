import type { Insertable, Kysely } from 'kysely';
import { chunks } from '../platform';
import type { DB } from '../db';

export type NewEventId = Insertable<DB['event_ids']>;

/** Ids per `in (...)` list and rows per insert: well under SQLite's 32,766 bound parameters. */
const IDS_PER_QUERY = 2_000;
const ROWS_PER_INSERT = 500;

/** The producers' idempotency keys already applied, remembered for the idempotency window. */
export class EventIdsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async seen(db: Kysely<DB>, ids: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (const part of chunks(ids, IDS_PER_QUERY)) {
      const rows = await db.selectFrom('event_ids').select('id').where('id', 'in', part).execute();
      for (const r of rows) out.add(r.id);
    }
    return out;
  }

  async record(db: Kysely<DB>, rows: readonly NewEventId[]): Promise<void> {
    for (const part of chunks(rows, ROWS_PER_INSERT)) await db.insertInto('event_ids').values(part).execute();
  }

  /** Forgets ids seen before `before`; returns how many. */
  async prune(before: number): Promise<number> {
    const r = await this.db.deleteFrom('event_ids').where('seen_at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
