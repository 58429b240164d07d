import { sql, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import { READ_PHASE_COLUMNS } from '../analytics';
import { ACTIVE_MOVE_STATES, dialectOf, least, type DB, type Location, type Tier } from '../db';
import type { DatasetPolicy } from './decision';
import { FIRST_READ_AGE_EDGES, type FirstReadTotals } from './first-read';
import { PERIODIC_MIN_READS } from './periodic';
import type { ReadShareTotals } from './read-share';
import type { ReadSplitTotals } from './read-split';

const GB = 1024 ** 3;
const DAY = 86_400_000;

type Nullable<T> = { [K in keyof T]: T[K] | null };

/** One dataset as the scheduler reads it: placement, size, statistics, policy, last decision. */
export type CandidateRow = Pick<
  Selectable<DB['datasets']>,
  'id' | 'tier' | 'location' | 'size_gb' | 'content_bytes' | 'created_at' | 'last_storage_migration'
> &
  // Left-joined: null for a dataset with no statistics, no policy of its own, no stored decision.
  Nullable<
    Pick<
      Selectable<DB['dataset_stats']>,
      | 'reads'
      | 'writes'
      | 'scans'
      | 'bytes_read'
      | 'first_access'
      | 'decay_at'
      | 'decay_1h'
      | 'decay_1d'
      | 'decay_1w'
      | 'decay_30d'
      | 'large_reads'
      | 'large_bytes'
      | 'large_bursts'
      | 'large_first'
      | 'large_last'
      | 'large_gap_sq'
      | 'phase_reads'
      | 'phase_month_cos'
      | 'phase_month_sin'
      | 'phase_week_cos'
      | 'phase_week_sin'
      | 'phase_month2_cos'
      | 'phase_month2_sin'
      | 'phase_week2_cos'
      | 'phase_week2_sin'
    > &
      Pick<Selectable<DB['dataset_policies']>, 'mode' | 'pin_location' | 'pin_tier' | 'max_latency_ms'>
  > & {
    /** The stored decision, to skip rewriting one that has not changed. */
    prev_action: string | null;
    prev_rule: string | null;
    prev_to: string | null;
    prev_made_at: number | null;
    prev_forecast: number | null;
  };

/**
 * The columns of page()'s one text per row, in its order. Each is cast to text and a NULL
 * becomes '' (SQLite's ifnull() is coalesce() on both; PostgreSQL's concatenation needs text).
 */
const PAGE_FIELDS = [
  'd.tier',
  'd.location',
  'd.size_gb',
  'd.content_bytes',
  'd.created_at',
  'd.last_storage_migration',
  's.reads',
  's.writes',
  's.scans',
  's.bytes_read',
  's.first_access',
  's.decay_at',
  's.decay_1h',
  's.decay_1d',
  's.decay_1w',
  's.decay_30d',
  'x.action',
  'x.rule',
  "x.to_location || '/' || x.to_tier",
  'x.made_at',
  'x.forecast_accesses',
];
/**
 * The large-read columns, as one text in page(), only where the policy can use them (three bursts
 * or more, see timedLargeReads): most datasets have none, and six more fields per row cost the
 * scan a third of its time (bench:scheduler, issue 13 fifth pass).
 */
const LARGE_FIELDS = [
  's.large_reads',
  's.large_bytes',
  's.large_bursts',
  's.large_first',
  's.large_last',
  's.large_gap_sq',
];
const LARGE_TEXT = `case when s.large_bursts >= 3 then ${LARGE_FIELDS.map((f) => `cast(${f} as text)`).join(" || ';' || ")} else '' end`;
/** The read-phase columns, the same way: only where there are reads enough to time (see readWindows). */
const PHASE_FIELDS = [
  's.phase_reads',
  's.phase_month_cos',
  's.phase_month_sin',
  's.phase_week_cos',
  's.phase_week_sin',
  's.phase_month2_cos',
  's.phase_month2_sin',
  's.phase_week2_cos',
  's.phase_week2_sin',
];
const PHASE_TEXT = `case when s.phase_reads >= ${PERIODIC_MIN_READS} then ${PHASE_FIELDS.map((f) => `cast(${f} as text)`).join(" || ';' || ")} else '' end`;

/** The scheduler's reads: every dataset with what a decision needs, page by page, and the fleet's totals. */
export class ScanRepository {
  /** `reader`: a read-only connection for the scheduler's scans (see Database.reader). */
  constructor(
    private readonly db: Kysely<DB>,
    private readonly reader: Kysely<DB> = db,
  ) {}

  /** A page of datasets in id order after `afterId`, with everything a decision needs. */
  async candidates(afterId: number, limit: number): Promise<CandidateRow[]> {
    const r = await sql<CandidateRow>`
      select d.id, d.tier, d.location, d.size_gb, d.content_bytes, d.created_at, d.last_storage_migration,
             s.reads, s.writes, s.scans, s.bytes_read, s.first_access, s.decay_at, s.decay_1h, s.decay_1d, s.decay_1w, s.decay_30d,
             s.large_reads, s.large_bytes, s.large_bursts, s.large_first, s.large_last, s.large_gap_sq,
             s.phase_reads, s.phase_month_cos, s.phase_month_sin, s.phase_week_cos, s.phase_week_sin,
             s.phase_month2_cos, s.phase_month2_sin, s.phase_week2_cos, s.phase_week2_sin,
             p.mode, p.pin_location, p.pin_tier, p.max_latency_ms,
             x.action as prev_action, x.rule as prev_rule, x.to_location || '/' || x.to_tier as prev_to,
             x.made_at as prev_made_at, x.forecast_accesses as prev_forecast
      from datasets d
      left join dataset_stats s on s.dataset_id = d.id
      left join dataset_policies p on p.dataset_id = d.id
      left join decisions x on x.dataset_id = d.id
      where d.id > ${afterId}
      order by d.id
      limit ${limit}`.execute(this.db);
    return r.rows;
  }

  /** One dataset, as candidates() reads it. */
  async candidate(datasetId: number): Promise<CandidateRow | undefined> {
    const rows = await this.candidates(datasetId - 1, 1);
    return rows[0]?.id === datasetId ? rows[0] : undefined;
  }

  /**
   * A page for the scheduler's scan over every dataset, from the read-only connection. Each row
   * comes back as one text and is parsed here: the driver builds a JS object property by
   * property, and twenty columns per row cost three times the query itself. Policies are not
   * joined (they are few: see policies()).
   */
  async page(afterId: number, limit: number, policies: ReadonlyMap<number, DatasetPolicy>): Promise<CandidateRow[]> {
    const r = await sql<{ id: number; r: string }>`
      select d.id as id,
        ${sql.join(
          PAGE_FIELDS.map((f) => sql`coalesce(cast(${sql.raw(f)} as text), '')`),
          sql` || ',' || `,
        )} || ',' || ${sql.raw(LARGE_TEXT)} || ',' || ${sql.raw(PHASE_TEXT)} as r
      from datasets d
      left join dataset_stats s on s.dataset_id = d.id
      left join decisions x on x.dataset_id = d.id
      where d.id > ${afterId}
      order by d.id
      limit ${limit}`.execute(this.reader);
    const out = new Array<CandidateRow>(r.rows.length);
    for (let i = 0; i < r.rows.length; i++) {
      const { id, r: text } = r.rows[i]!;
      const f = text.split(',');
      const num = (k: number): number | null => (f[k] === '' ? null : Number(f[k]));
      const str = (k: number): string | null => (f[k] === '' ? null : f[k]!);
      const p = policies.get(id);
      out[i] = {
        id,
        tier: f[0] as Tier,
        location: f[1] as Location,
        size_gb: Number(f[2]),
        content_bytes: num(3),
        created_at: Number(f[4]),
        last_storage_migration: num(5),
        reads: num(6),
        writes: num(7),
        scans: num(8),
        bytes_read: num(9),
        first_access: num(10),
        decay_at: num(11),
        decay_1h: num(12),
        decay_1d: num(13),
        decay_1w: num(14),
        decay_30d: num(15),
        mode: p?.mode ?? null,
        pin_location: p?.pin?.location ?? null,
        pin_tier: p?.pin?.tier ?? null,
        max_latency_ms: p?.maxLatencyMs ?? null,
        prev_action: str(16),
        prev_rule: str(17),
        prev_to: str(18),
        prev_made_at: num(19),
        prev_forecast: num(20),
        ...largeOf(f[21] ?? ''),
        ...phasesOf(f[22] ?? ''),
      };
    }
    return out;
  }

  /**
   * The fleet's read-share totals (see ReadShareEstimator, whose rules this sums in SQL: reads
   * that reported no bytes and scans are left out), from the read-only connection. total(), not
   * sum(): a fleet's reads × sizes overflow 64-bit integers, where sum() throws.
   */
  async readShareTotals(): Promise<ReadShareTotals> {
    const dialect = dialectOf(this.reader);
    // SQLite's total() is a float sum that never overflows; PostgreSQL's sum() of these is numeric.
    const total = (x: RawBuilder<unknown>): RawBuilder<number> =>
      dialect === 'postgres' ? sql<number>`coalesce(sum(${x}), 0)` : sql<number>`total(${x})`;
    const r = await sql<{ bytes: number | null; read_size: number | null; reads: number | null }>`
      select ${total(least(dialect, sql`w.reads * w.size`, sql`w.bytes`))} as bytes, ${total(sql`w.reads * w.size`)} as read_size,
        ${total(sql`w.reads`)} as reads
      from (
        select v.reads - v.scans as reads, v.bytes_read - v.scans * v.size as bytes, v.size
        from (
          select s.reads, s.scans, s.bytes_read, coalesce(d.content_bytes, d.size_gb * ${GB}) as size -- as sizeBytesOf
          from dataset_stats s join datasets d on d.id = s.dataset_id
        ) v
      ) w
      where w.reads > 0 and w.size > 0 and w.bytes > 0`.execute(this.reader);
    const row = r.rows[0];
    return { bytes: row?.bytes ?? 0, readSize: row?.read_size ?? 0, reads: row?.reads ?? 0 };
  }

  /**
   * The fleet's read/write split totals (see ReadSplitEstimator, whose sums this spells in SQL:
   * non-scan reads x and accesses n of every dataset with one, Σ x²/n, Σ n² and Σ x/n), from the
   * read-only connection; float sums, as readShareTotals' (a fleet's n² overflows integers).
   */
  async readSplitTotals(): Promise<ReadSplitTotals> {
    const dialect = dialectOf(this.reader);
    const total = (x: RawBuilder<unknown>): RawBuilder<number> =>
      dialect === 'postgres' ? sql<number>`coalesce(sum(${x}), 0)` : sql<number>`total(${x})`;
    const r = await sql<{
      reads: number;
      accesses: number;
      datasets: number;
      reads_sq: number;
      accesses_sq: number;
      splits: number;
    }>`
      select ${total(sql`w.x`)} as reads, ${total(sql`w.n`)} as accesses, count(*) as datasets,
        ${total(sql`(w.x * 1.0) * w.x / w.n`)} as reads_sq, ${total(sql`(w.n * 1.0) * w.n`)} as accesses_sq,
        ${total(sql`(w.x * 1.0) / w.n`)} as splits
      from (select s.reads - s.scans as x, s.reads - s.scans + s.writes as n from dataset_stats s) w
      where w.n > 0`.execute(this.reader);
    const row = r.rows[0];
    return {
      reads: Number(row?.reads ?? 0),
      accesses: Number(row?.accesses ?? 0),
      datasets: Number(row?.datasets ?? 0),
      readsSqPerAccess: Number(row?.reads_sq ?? 0),
      accessesSq: Number(row?.accesses_sq ?? 0),
      splits: Number(row?.splits ?? 0),
    };
  }

  /**
   * Datasets per age bin (FIRST_READ_AGE_EDGES) and those no non-scan read has reached yet:
   * the fleet's first-read delays (FirstReadCurve). Ages bin on created_at against cut-offs
   * computed here, so the SQL is the same on SQLite and PostgreSQL.
   */
  async firstReadTotals(now: number): Promise<FirstReadTotals> {
    const cases = FIRST_READ_AGE_EDGES.slice(1)
      // Youngest first: the first cut-off a dataset is younger than names its bin.
      .map((edge, b) => sql`when d.created_at > ${now - edge * DAY} then ${b}`);
    const last = FIRST_READ_AGE_EDGES.length - 1;
    const r = await sql<{ bin: number | string; datasets: number | string; unread: number | string | null }>`
      select b.bin, count(*) as datasets, sum(b.unread) as unread
      from (
        select case ${sql.join(cases, sql` `)} else ${last} end as bin,
               case when coalesce(s.reads, 0) - coalesce(s.scans, 0) <= 0 then 1 else 0 end as unread
        from datasets d left join dataset_stats s on s.dataset_id = d.id
        where d.created_at <= ${now}
      ) b
      group by b.bin`.execute(this.reader);
    const totals: FirstReadTotals = {
      datasets: new Array<number>(FIRST_READ_AGE_EDGES.length).fill(0),
      unread: new Array<number>(FIRST_READ_AGE_EDGES.length).fill(0),
    };
    for (const row of r.rows) {
      const b = Number(row.bin);
      totals.datasets[b] = Number(row.datasets);
      totals.unread[b] = Number(row.unread ?? 0);
    }
    return totals;
  }

  async movingDatasetIds(): Promise<Set<number>> {
    const rows = await this.db
      .selectFrom('moves')
      .select('dataset_id')
      .where('state', 'in', ACTIVE_MOVE_STATES)
      .execute();
    return new Set(rows.map((r) => r.dataset_id));
  }
}

type LargeColumns = Pick<
  CandidateRow,
  'large_reads' | 'large_bytes' | 'large_bursts' | 'large_first' | 'large_last' | 'large_gap_sq'
>;
const NO_LARGE: LargeColumns = {
  large_reads: null,
  large_bytes: null,
  large_bursts: null,
  large_first: null,
  large_last: null,
  large_gap_sq: null,
};

/** page()'s large-read text (LARGE_TEXT) as its columns; '' where the dataset has fewer than three bursts. */
function largeOf(text: string): LargeColumns {
  if (text === '') return NO_LARGE;
  const [reads, bytes, bursts, first, last, gapSq] = text.split(';').map((v) => (v === '' ? null : Number(v)));
  return {
    large_reads: reads ?? null,
    large_bytes: bytes ?? null,
    large_bursts: bursts ?? null,
    large_first: first ?? null,
    large_last: last ?? null,
    large_gap_sq: gapSq ?? null,
  };
}

type PhaseColumns = Pick<CandidateRow, (typeof PHASE_COLUMNS)[number]>;
/** The read-phase columns, in the order analytics stores them. */
const PHASE_COLUMNS = READ_PHASE_COLUMNS;

/** page()'s read-phase text (PHASE_TEXT, in PHASE_COLUMNS' order) as its columns; '' where the dataset has too few reads to time. */
const NO_PHASES = Object.fromEntries(PHASE_COLUMNS.map((c) => [c, null])) as PhaseColumns;
function phasesOf(text: string): PhaseColumns {
  if (text === '') return NO_PHASES;
  const values = text.split(';').map(Number);
  return Object.fromEntries(PHASE_COLUMNS.map((c, k) => [c, values[k] ?? null])) as PhaseColumns;
}
