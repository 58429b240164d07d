import type { Kysely } from 'kysely';
import type { DB } from '../db';

export interface IntegritySnapshot {
  /** Integrity failures ever found, by what found them. */
  failures: Array<{ found_by: string; n: number }>;
  /** Datasets marked damaged now. */
  damaged: number;
  /** The last scrub that went through every object. */
  lastScrub: { finished_at: number; objects: number; bytes: number; damaged: number; skipped: number } | undefined;
}

/** What /metrics says about stored objects' integrity: the queries, in one place. */
export class IntegrityMetricsRepository {
  constructor(private readonly reader: Kysely<DB>) {}

  async snapshot(): Promise<IntegritySnapshot> {
    const failures = await this.reader
      .selectFrom('integrity_failures')
      .select(['found_by', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('found_by')
      .execute();
    const damaged = await this.reader
      .selectFrom('datasets')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('damaged_at', 'is not', null)
      .executeTakeFirst();
    const scrub = await this.reader
      .selectFrom('scrub_runs')
      .select(['finished_at', 'objects', 'bytes', 'damaged', 'skipped'])
      .where('finished_at', 'is not', null)
      // Through every object: a stopped, failed or abandoned run checked only part of them.
      .where('error', 'is', null)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return {
      failures: failures.map((f) => ({ found_by: f.found_by, n: Number(f.n) })),
      damaged: Number(damaged?.n ?? 0),
      lastScrub: scrub ? { ...scrub, finished_at: scrub.finished_at! } : undefined,
    };
  }
}
