import type { Kysely } from 'kysely';
import type { DB } from '../db';
import type { OffsetReader } from './types';

/** The key under which this database keeps the offsets it has applied (see app.ts). */
export const APPLIED_OFFSETS = 'applied';

/** Applied offsets per (group, topic, partition). Written only inside the apply transaction. */
export class OffsetsRepository implements OffsetReader {
  constructor(
    private readonly db: Kysely<DB>,
    readonly groupId: string,
  ) {}

  async nextOffsets(topic: string, db: Kysely<DB> = this.db): Promise<Map<number, number>> {
    const rows = await db
      .selectFrom('consumer_offsets')
      .select(['partition', 'next_offset'])
      .where('group_id', '=', this.groupId)
      .where('topic', '=', topic)
      .execute();
    return new Map(rows.map((r) => [r.partition, r.next_offset]));
  }

  async store(db: Kysely<DB>, topic: string, next: Map<number, number>, now: number): Promise<void> {
    if (next.size === 0) return;
    await db
      .insertInto('consumer_offsets')
      .values(
        [...next].map(([partition, next_offset]) => ({
          group_id: this.groupId,
          topic,
          partition,
          next_offset,
          updated_at: now,
        })),
      )
      .onConflict((oc) =>
        oc.columns(['group_id', 'topic', 'partition']).doUpdateSet((eb) => ({
          // max(): a late, stale batch can never move an offset backwards.
          next_offset: eb.fn('max', [eb.ref('consumer_offsets.next_offset'), eb.ref('excluded.next_offset')]),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
  }
}
