import { sql, type Kysely } from 'kysely';
import type { DB } from '../db';

export interface MetricsSnapshot {
  moves: { state: string; n: number }[];
  movedBytes: number;
  placements: { location: string; tier: string; bytes: number; n: number }[];
  decisions: { action: string; rule: string | null; n: number }[];
  runs: { outcome: string; n: number }[];
}

/** The gauges `/metrics` reads at scrape time, on the read-only connection. */
export class MetricsRepository {
  constructor(private readonly reader: Kysely<DB>) {}

  async snapshot(): Promise<MetricsSnapshot> {
    const { reader } = this;
    const moves = await reader
      .selectFrom('moves')
      .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('state')
      .execute();
    const done = await reader
      .selectFrom('moves')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('bytes_total'), eb.lit(0)).as('b'))
      .where('state', '=', 'done')
      .executeTakeFirst();
    const placements = await sql<MetricsSnapshot['placements'][number]>`
      select location, tier, sum(coalesce(content_bytes, size_gb * 1073741824)) as bytes, count(*) as n
      from datasets group by location, tier`.execute(reader);
    const decisions = await reader
      .selectFrom('decisions')
      .select(['action', 'rule', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(['action', 'rule'])
      .execute();
    const runs = await sql<MetricsSnapshot['runs'][number]>`
      select case when finished_at is null then 'running' when error is null then 'ok' else 'failed' end as outcome, count(*) as n
      from scheduler_runs group by outcome`.execute(reader);
    return {
      moves: moves.map((m) => ({ state: m.state, n: Number(m.n) })),
      movedBytes: Number(done?.b ?? 0),
      placements: placements.rows.map((r) => ({ ...r, bytes: Number(r.bytes), n: Number(r.n) })),
      decisions: decisions.map((d) => ({ action: d.action, rule: d.rule, n: Number(d.n) })),
      runs: runs.rows.map((r) => ({ outcome: r.outcome, n: Number(r.n) })),
    };
  }
}
