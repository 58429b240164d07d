import type { Kysely } from 'kysely';
import { ACTIVE_MOVE_STATES, type DB } from '../db';

export interface PendingSums {
  moves: number;
  gross_month: number;
  move_cost: number;
}

/** Sums over the moves not yet finished and the decisions that queued them. */
export class PendingRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** Every pending move's sums, and those of the moves sent elsewhere than recommended (`offRule`). */
  async sums(offRule: string): Promise<PendingSums & { off: PendingSums }> {
    const rows = await this.db
      .selectFrom('moves as m')
      .innerJoin('decision_log as l', 'l.id', 'm.decision_id')
      .where('m.state', 'in', ACTIVE_MOVE_STATES)
      .select((eb) => [
        eb.case().when('l.rule', '=', offRule).then(eb.lit(1)).else(eb.lit(0)).end().as('off'),
        eb.fn.countAll<number>().as('moves'),
        eb.fn.coalesce(eb.fn.sum<number>('l.saving_month'), eb.lit(0)).as('gross_month'),
        eb.fn.coalesce(eb.fn.sum<number>('l.move_cost'), eb.lit(0)).as('move_cost'),
      ])
      .groupBy('off')
      .execute();
    const all: PendingSums = { moves: 0, gross_month: 0, move_cost: 0 };
    const off: PendingSums = { moves: 0, gross_month: 0, move_cost: 0 };
    for (const r of rows) {
      for (const s of Number(r.off) === 1 ? [all, off] : [all]) {
        s.moves += Number(r.moves);
        s.gross_month += Number(r.gross_month);
        s.move_cost += Number(r.move_cost);
      }
    }
    return { ...all, off };
  }
}
