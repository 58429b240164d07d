import type { Kysely } from 'kysely';
import { ACTIVE_MOVE_STATES, type DB } from '../db';

/** Sums over the moves not yet finished and the decisions that queued them. */
export class PendingRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async sums(): Promise<{ moves: number; gross_month: number; move_cost: number }> {
    const r = await this.db
      .selectFrom('moves as m')
      .innerJoin('decision_log as l', 'l.id', 'm.decision_id')
      .where('m.state', 'in', ACTIVE_MOVE_STATES)
      .select((eb) => [
        eb.fn.countAll<number>().as('moves'),
        eb.fn.coalesce(eb.fn.sum<number>('l.saving_month'), eb.lit(0)).as('gross_month'),
        eb.fn.coalesce(eb.fn.sum<number>('l.move_cost'), eb.lit(0)).as('move_cost'),
      ])
      .executeTakeFirstOrThrow();
    return { moves: Number(r.moves), gross_month: Number(r.gross_month), move_cost: Number(r.move_cost) };
  }
}
