import type { Kysely } from 'kysely';
import { portable } from './portable';

/**
 * What the pending moves save is summed from the decisions that queued them, net of each move's
 * own cost, so the log keeps that cost; each scheduler run records the sum it left pending.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = portable(db);
  await db.schema
    .alterTable('decision_log')
    .addColumn('move_cost', t.real, (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('scheduler_runs').addColumn('pending_saving_month', t.real).execute();
  // The move queue's totals and the pending saving join moves to their decision.
  await db.schema.createIndex('moves_decision').on('moves').column('decision_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('moves_decision').execute();
  await db.schema.alterTable('scheduler_runs').dropColumn('pending_saving_month').execute();
  await db.schema.alterTable('decision_log').dropColumn('move_cost').execute();
}
