import type { Insertable, Kysely, Selectable } from 'kysely';
import { chunks } from '../platform';
import type { DB } from '../db';

export type NewDeadLetter = Insertable<DB['dead_letters']>;
export type DeadLetterRow = Selectable<DB['dead_letters']>;

const ROWS_PER_INSERT = 500;
/** A dead letter keeps the start of its payload: enough to see what it was, bounded in size. */
export const MAX_PAYLOAD_CHARS = 65_536;

/** Messages that could not be applied, with the reason, for an operator to look at. */
export class DeadLettersRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** Newest first. */
  list(limit: number, offset: number): Promise<DeadLetterRow[]> {
    return this.db.selectFrom('dead_letters').selectAll().orderBy('id', 'desc').limit(limit).offset(offset).execute();
  }

  async count(): Promise<number> {
    const r = await this.db
      .selectFrom('dead_letters')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async add(db: Kysely<DB>, rows: readonly NewDeadLetter[]): Promise<void> {
    for (const part of chunks(rows, ROWS_PER_INSERT)) {
      await db
        .insertInto('dead_letters')
        .values(part.map((r) => ({ ...r, payload: r.payload.slice(0, MAX_PAYLOAD_CHARS) })))
        .execute();
    }
  }
}
