import type { Insertable, Kysely, Selectable } from 'kysely';
import type { DB } from '../db';

export type Gap = Pick<Insertable<DB['stream_gaps']>, 'topic' | 'partition' | 'from_offset' | 'to_offset'>;
export type GapRow = Selectable<DB['stream_gaps']>;

/** Lost stretches of the log, recorded in the apply transaction that moves past them. */
export class GapsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async record(db: Kysely<DB>, gaps: readonly Gap[], now: number): Promise<void> {
    if (gaps.length === 0) return;
    await db
      .insertInto('stream_gaps')
      .values(gaps.map((g) => ({ ...g, detected_at: now })))
      .onConflict((oc) => oc.columns(['topic', 'partition', 'from_offset']).doNothing())
      .execute();
  }

  /** The gaps no operator has acknowledged yet, oldest first. */
  unacknowledged(limit = 100): Promise<GapRow[]> {
    return this.db
      .selectFrom('stream_gaps')
      .selectAll()
      .where('acknowledged_at', 'is', null)
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  async countUnacknowledged(): Promise<number> {
    const r = await this.db
      .selectFrom('stream_gaps')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('acknowledged_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** False when there is no such gap or it was acknowledged already. */
  async acknowledge(id: number, by: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('stream_gaps')
      .set({ acknowledged_at: now, acknowledged_by: by })
      .where('id', '=', id)
      .where('acknowledged_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}
