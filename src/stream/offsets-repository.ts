import { sql, type Kysely } from 'kysely';
import { dialectOf, greatest, type DB } from '../db';
import type { AssignmentOffsets } from './types';

/** The key under which this database keeps the offsets it has applied (see app.ts). */
export const APPLIED_OFFSETS = 'applied';

/** Applied offsets per (group, topic, partition). Written only inside the apply transaction. */
export class OffsetsRepository implements AssignmentOffsets {
  constructor(
    private readonly db: Kysely<DB>,
    readonly groupId: string,
  ) {}

  /**
   * Makes the calling transaction the only one applying these partitions until it commits. On
   * PostgreSQL two instances may both hold a partition for a moment (a rebalance, a member that
   * has not noticed it is gone): without the lock both would read the same stored offset and
   * apply the overlap twice. Taken before the offsets are read, in partition order (two batches
   * never wait on each other in a circle), released by commit or rollback. On SQLite the writer's
   * `begin immediate` already runs one apply transaction at a time.
   */
  async lockPartitions(db: Kysely<DB>, topic: string, partitions: Iterable<number>): Promise<void> {
    if (dialectOf(db) !== 'postgres') return;
    const key = `${this.groupId}/${topic}`;
    for (const p of [...new Set(partitions)].sort((a, b) => a - b)) {
      await sql`select pg_advisory_xact_lock(hashtext(${key}), ${p})`.execute(db);
    }
  }

  async nextOffsets(topic: string, db: Kysely<DB> = this.db): Promise<Map<number, number>> {
    const rows = await db
      .selectFrom('consumer_offsets')
      .select(['partition', 'next_offset'])
      .where('group_id', '=', this.groupId)
      .where('topic', '=', topic)
      .execute();
    return new Map(rows.map((r) => [r.partition, r.next_offset]));
  }

  /**
   * The applied offsets of `partitions` once no transaction is applying any of them: taking their
   * locks waits for a batch being committed for them (by any instance) and then reads what it
   * stored, so a member that was just given a partition does not read that batch again. Other
   * partitions' offsets come along as they are.
   */
  async settledOffsets(topic: string, partitions: readonly number[]): Promise<Map<number, number>> {
    if (dialectOf(this.db) !== 'postgres') return this.nextOffsets(topic);
    return this.db.transaction().execute(async (trx) => {
      await this.lockPartitions(trx, topic, partitions);
      return this.nextOffsets(topic, trx);
    });
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
          // The larger: a late, stale batch can never move an offset backwards.
          next_offset: greatest(
            dialectOf(db),
            sql`${eb.ref('consumer_offsets.next_offset')}`,
            sql`excluded.next_offset`,
          ),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
  }
}
