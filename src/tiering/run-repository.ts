import type { Kysely, Selectable } from 'kysely';
import type { DB } from '../db';

/** How a run ended, as finish() stores it (held decisions by rule, as an object). */
export type RunEnd = Omit<
  Selectable<DB['scheduler_runs']>,
  'id' | 'trigger' | 'started_at' | 'held' | 'finished_at'
> & {
  finished_at: number;
  held: Record<string, number>;
};

/** The scheduler's run history and its stored settings. */
export class RunRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async start(trigger: string, now: number): Promise<number> {
    const r = await this.db
      .insertInto('scheduler_runs')
      .values({ trigger, started_at: now, datasets: 0, moves: 0, held: '{}' })
      .returning('id')
      .executeTakeFirstOrThrow();
    return r.id;
  }

  async finish(id: number, r: RunEnd): Promise<void> {
    await this.db
      .updateTable('scheduler_runs')
      .set({
        finished_at: r.finished_at,
        datasets: r.datasets,
        moves: r.moves,
        held: JSON.stringify(r.held),
        catalog_version: r.catalog_version,
        error: r.error,
      })
      .where('id', '=', id)
      .execute();
  }

  async latest(limit: number) {
    return this.db.selectFrom('scheduler_runs').selectAll().orderBy('id', 'desc').limit(limit).execute();
  }

  /** Runs left unfinished by a crash are closed, so the history never shows one running forever. */
  async closeAbandoned(now: number): Promise<void> {
    await this.db
      .updateTable('scheduler_runs')
      .set({ finished_at: now, error: 'interrupted (the process stopped during the run)' })
      .where('finished_at', 'is', null)
      .execute();
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
