import type { Kysely, Selectable } from 'kysely';
import { type DB, type Fence, fenced } from '../db';

/** How a run ended, as finish() stores it (held decisions by rule, as an object). */
export type RunEnd = Omit<
  Selectable<DB['scheduler_runs']>,
  'id' | 'trigger' | 'started_at' | 'held' | 'finished_at'
> & {
  finished_at: number;
  held: Record<string, number>;
};

/** The scheduler's run history and its stored settings. `fence`: a run's records, under the scheduler's lease. */
export class RunRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async start(trigger: string, now: number, fence?: Fence): Promise<number> {
    const r = await fenced(this.db, fence, (db) =>
      db
        .insertInto('scheduler_runs')
        .values({ trigger, started_at: now, datasets: 0, moves: 0, held: '{}' })
        .returning('id')
        .executeTakeFirstOrThrow(),
    );
    return r.id;
  }

  async finish(id: number, r: RunEnd, fence?: Fence): Promise<void> {
    await fenced(this.db, fence, (db) =>
      db
        .updateTable('scheduler_runs')
        .set({
          finished_at: r.finished_at,
          datasets: r.datasets,
          moves: r.moves,
          held: JSON.stringify(r.held),
          catalog_version: r.catalog_version,
          pending_saving_month: r.pending_saving_month,
          error: r.error,
        })
        .where('id', '=', id)
        .execute(),
    );
  }

  async latest(limit: number) {
    return this.db.selectFrom('scheduler_runs').selectAll().orderBy('id', 'desc').limit(limit).execute();
  }

  /**
   * Runs left unfinished by a crash, or by an instance that lost the lease mid-run (its own close
   * was refused), are closed, so the history never shows one running forever. Fenced: a stale
   * leader must not close the new leader's run.
   */
  async closeAbandoned(now: number, fence?: Fence): Promise<void> {
    await fenced(this.db, fence, (db) =>
      db
        .updateTable('scheduler_runs')
        .set({
          finished_at: now,
          error: 'interrupted (its instance stopped, or lost the scheduler lease, during the run)',
        })
        .where('finished_at', 'is', null)
        .execute(),
    );
  }

  async setting(key: string): Promise<string | undefined> {
    const r = await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
    return r?.value;
  }

  async setSetting(key: string, value: string, now: number): Promise<void> {
    await this.db
      .insertInto('settings')
      .values({ key, value, updated_at: now })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: now }))
      .execute();
  }
}
