import type { Insertable, Kysely } from 'kysely';
import { chunks } from '../platform';
import type { DB } from '../db';

export type NewDeadLetter = Insertable<DB['dead_letters']>;

const ROWS_PER_INSERT = 500;
/** A dead letter keeps the start of its payload: enough to see what it was, bounded in size. */
export const MAX_PAYLOAD_CHARS = 65_536;

/** Messages that could not be applied, with the reason, for an operator to look at. */
export class DeadLettersRepository {
  async add(db: Kysely<DB>, rows: readonly NewDeadLetter[]): Promise<void> {
    for (const part of chunks(rows, ROWS_PER_INSERT)) {
      await db
        .insertInto('dead_letters')
        .values(part.map((r) => ({ ...r, payload: r.payload.slice(0, MAX_PAYLOAD_CHARS) })))
        .execute();
    }
  }
}
