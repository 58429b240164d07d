import { sql, type Kysely } from 'kysely';
import {
  type BucketResolution,
  type DB,
  type DatasetStatsRow,
  type DialectName,
  bulkAddJson,
  bulkWriteJson,
  dialectOf,
  together,
} from '../db';
import { chunks } from '../platform';
import { minutePhases, type BucketDelta, type PhaseDelta, type StatsDelta } from './aggregate';
import { HALF_LIVES } from './decay';
import { BURST_GAP_MS } from './large-reads';
import { READ_PHASE_COLUMNS } from './read-phases';

const GB = 1024 ** 3;
/** `bucket_rollup`'s row for the roll-up's claim (row 1: what it has rolled; migration 024). */
const CLAIM_ROW = 2;
/** Ids per `in (...)` list: well under SQLite's 32,766 bound parameters. */
const IDS_PER_QUERY = 2_000;

export interface BucketRow {
  bucket_start: number;
  reads: number;
  writes: number;
  scans: number;
  bytes: number;
}

export class StatsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  get(datasetId: number): Promise<DatasetStatsRow | undefined> {
    return this.db.selectFrom('dataset_stats').selectAll().where('dataset_id', '=', datasetId).executeTakeFirst();
  }

  buckets(datasetId: number, res: BucketResolution, from: number, to: number): Promise<BucketRow[]> {
    return this.db
      .selectFrom('access_buckets')
      .select(['bucket_start', 'reads', 'writes', 'scans', 'bytes'])
      .where('dataset_id', '=', datasetId)
      .where('res', '=', res)
      .where('bucket_start', '>=', from)
      .where('bucket_start', '<', to)
      .orderBy('bucket_start')
      .execute();
  }

  /** Minute buckets before this time are already in their hour and day. */
  async rolledUntil(db: Kysely<DB> = this.db): Promise<number> {
    const r = await db.selectFrom('bucket_rollup').select('rolled_until').where('id', '=', 1).executeTakeFirstOrThrow();
    return r.rolled_until;
  }

  /**
   * The roll-up's two marks as a batch applied in `trx` must see them: `claimed`, before which a
   * minute's events are late (the batch adds them to their hour and day itself), held until the
   * batch commits; and `rolled`, before which minute buckets were rolled up. On PostgreSQL the
   * claim is read `for share`: a roll-up moves it only once the batches that read the old claim
   * have committed, so the minutes it then rolls get no more writes (see rollUp). SQLite runs one
   * writing transaction at a time: nothing to hold.
   */
  async batchMarks(trx: Kysely<DB>): Promise<{ claimed: number; rolled: number }> {
    const claim = trx.selectFrom('bucket_rollup').select('rolled_until').where('id', '=', CLAIM_ROW);
    const [claimed, rolled] = await together([
      (dialectOf(trx) === 'postgres' ? claim.forShare() : claim).executeTakeFirstOrThrow(),
      this.rolledUntil(trx),
    ]);
    return { claimed: claimed.rolled_until, rolled };
  }

  /**
   * `rolled` once a roll of claimed minutes under way has committed (on PostgreSQL the read waits
   * for it, `for share`), for a batch with events of minutes claimed but not rolled: after the
   * wait they are rolled, and the batch adds those events to their minute buckets as well. Still
   * short of the claim (a crash between the roll-up's two steps on PostgreSQL): the batch leaves
   * those minutes alone, and the events are in their hour and day only.
   */
  async rolledAfterRoll(trx: Kysely<DB>): Promise<number> {
    const q = trx.selectFrom('bucket_rollup').select('rolled_until').where('id', '=', 1);
    const r = await (dialectOf(trx) === 'postgres' ? q.forShare() : q).executeTakeFirstOrThrow();
    return r.rolled_until;
  }

  /** Adds read phases to existing stats rows (a row whose dataset is gone is left alone). */
  async addReadPhases(db: Kysely<DB>, rows: readonly PhaseDelta[]): Promise<void> {
    rows = inKeyOrder(db, rows, (a, b) => a.dataset_id - b.dataset_id);
    await bulkAddJson(
      db,
      'dataset_stats',
      PHASE_DELTA_COLUMNS,
      PHASE_DELTA_TYPES,
      rows.map((r) => PHASE_DELTA_COLUMNS.map((c) => r[c])),
    );
  }

  /**
   * Rolls every closed minute before `until` into its hour and day, and places its reads in their
   * periods; returns the hour buckets written. Two steps, each its own transaction, so a batch
   * never waits for the second: the claim moves (after the batches that read the old claim have
   * committed), then the claimed minutes, which no batch writes any more (a batch adds a claimed
   * minute's late events to its hour and day directly, not to the minute), are rolled and marked
   * rolled. A claim whose roll did not happen (a crash between the two) is rolled by the next.
   * On SQLite both steps are one transaction: its one writer waits for the roll-up anyway, and a
   * batch slipping in between would find minutes claimed and not rolled.
   */
  async rollUp(until: number): Promise<number> {
    if (dialectOf(this.db) === 'sqlite')
      return this.db.transaction().execute(async (trx) => {
        await this.claimMinutes(until, trx);
        return this.rollClaimed(trx);
      });
    await this.claimMinutes(until);
    return this.rollClaimed();
  }

  /** Moves the claim to `until` (never back), in its own transaction unless given one. */
  async claimMinutes(until: number, trx?: Kysely<DB>): Promise<void> {
    if (trx === undefined) return this.db.transaction().execute((t) => this.claimMinutes(until, t));
    const r = await trx
      .selectFrom('bucket_rollup')
      .select('rolled_until')
      .where('id', '=', CLAIM_ROW)
      .executeTakeFirstOrThrow();
    if (until <= r.rolled_until) return;
    // Only from where it was read: another instance moving it at the same time wins, this adds nothing.
    await trx
      .updateTable('bucket_rollup')
      .set({ rolled_until: until })
      .where('id', '=', CLAIM_ROW)
      .where('rolled_until', '=', r.rolled_until)
      .execute();
  }

  /** Rolls the claimed minutes not rolled yet; returns the hour buckets written. In its own transaction unless given one. */
  async rollClaimed(trx?: Kysely<DB>): Promise<number> {
    if (trx === undefined) return this.db.transaction().execute((t) => this.rollClaimed(t));
    const from = await this.rolledUntil(trx);
    const claim = await trx
      .selectFrom('bucket_rollup')
      .select('rolled_until')
      .where('id', '=', CLAIM_ROW)
      .executeTakeFirstOrThrow();
    const until = claim.rolled_until;
    if (until <= from) return 0;
    // Moved first, only from where it was read: another instance rolling up at the same time
    // holds the row until it commits, and then this update finds it moved and adds nothing.
    const claimed = await trx
      .updateTable('bucket_rollup')
      .set({ rolled_until: until })
      .where('id', '=', 1)
      .where('rolled_until', '=', from)
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) === 0) return 0;
    let rolled = 0;
    for (const [res, size] of [
      ['h', 3_600_000],
      ['d', 86_400_000],
    ] as const) {
      // The size as a literal: PostgreSQL matches the grouped expression by its text, and two
      // parameters of the same value are two expressions to it.
      const r = await sql`
          insert into access_buckets (dataset_id, res, bucket_start, reads, writes, scans, bytes, user_reads)
          select dataset_id, ${res}, bucket_start - (bucket_start % ${sql.lit(size)}), sum(reads), sum(writes), sum(scans), sum(bytes), sum(user_reads)
          from access_buckets
          where res = 'm' and bucket_start >= ${from} and bucket_start < ${until}
          group by dataset_id, bucket_start - (bucket_start % ${sql.lit(size)})
          ${sql.raw(BUCKETS_TAIL[dialectOf(trx)])}`.execute(trx);
      if (res === 'h') rolled = Number(r.numAffectedRows ?? 0);
    }
    // Each non-scan read placed in its periods, once: each minute is rolled once.
    const minutes = await trx
      .selectFrom('access_buckets')
      .select(['dataset_id', 'bucket_start', 'user_reads'])
      .where('res', '=', 'm')
      .where('bucket_start', '>=', from)
      .where('bucket_start', '<', until)
      .where('user_reads', '>', 0)
      .execute();
    await this.addReadPhases(trx, minutePhases(minutes));
    return rolled;
  }

  /** Minute buckets go only once the rollup has passed them, whatever their age. */
  async pruneBuckets(res: BucketResolution, before: number): Promise<number> {
    const limit = res === 'm' ? Math.min(before, await this.rolledUntil()) : before;
    const r = await this.db
      .deleteFrom('access_buckets')
      .where('res', '=', res)
      .where('bucket_start', '<', limit)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** The size in bytes of each of `ids` that exists (now, in `db`'s transaction), as the scheduler reads it. */
  async datasetSizes(db: Kysely<DB>, ids: readonly number[]): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    for (const part of chunks(ids, IDS_PER_QUERY)) {
      const rows = await db
        .selectFrom('datasets')
        .select(['id', 'content_bytes', 'size_gb'])
        .where('id', 'in', part)
        .execute();
      for (const r of rows) out.set(r.id, r.content_bytes ?? r.size_gb * GB);
    }
    return out;
  }

  /** Adds per-dataset deltas (see aggregate.ts) to the statistics, creating rows as needed. */
  async addStats(db: Kysely<DB>, rows: readonly StatsDelta[]): Promise<void> {
    rows = inKeyOrder(db, rows, (a, b) => a.dataset_id - b.dataset_id);
    await bulkWriteJson(
      db,
      STATS_HEAD,
      STATS_TAIL[dialectOf(db)],
      STATS_TYPES,
      rows.map((r) => STATS_COLUMNS.map((c) => r[c])),
    );
  }

  async addBuckets(db: Kysely<DB>, rows: readonly BucketDelta[]): Promise<void> {
    rows = inKeyOrder(
      db,
      rows,
      (a, b) => a.dataset_id - b.dataset_id || a.res.localeCompare(b.res) || a.bucket_start - b.bucket_start,
    );
    await bulkWriteJson(
      db,
      BUCKETS_HEAD,
      BUCKETS_TAIL[dialectOf(db)],
      BUCKET_TYPES,
      rows.map((r) => BUCKET_COLUMNS.map((c) => r[c])),
    );
  }
}

/**
 * On PostgreSQL, instances apply batches side by side and an upsert locks the rows it touches:
 * two batches that lock the same rows in different orders deadlock. Rows in key order, always,
 * make that impossible. (SQLite's one writer never waits on a row.)
 */
function inKeyOrder<T>(db: Kysely<DB>, rows: readonly T[], order: (a: T, b: T) => number): readonly T[] {
  return dialectOf(db) === 'postgres' ? [...rows].sort(order) : rows;
}

// The merges below are hand-written SQL for speed (one multi-row upsert per chunk, no read of the
// old rows). Spelled per engine: scalar max()/min() are PostgreSQL's greatest()/least(), and
// PostgreSQL wants the old row's columns qualified by the table name (unqualified, they are
// ambiguous with excluded's); SQLite's text is exactly what it always ran.
const STATS_COLUMNS = [
  'dataset_id',
  'reads',
  'writes',
  'scans',
  'bytes_read',
  'bytes_written',
  'first_access',
  'last_access',
  'decay_at',
  'decay_1h',
  'decay_1d',
  'decay_1w',
  'decay_30d',
  'large_reads',
  'large_bytes',
  'large_bursts',
  'large_first',
  'large_last',
  'large_gap_sq',
] as const satisfies ReadonlyArray<keyof StatsDelta>;
/** Each column's type on PostgreSQL (bulkWriteJson casts the JSON's text to it). */
const REAL_STATS: ReadonlySet<string> = new Set(['decay_1h', 'decay_1d', 'decay_1w', 'decay_30d', 'large_gap_sq']);
const PHASE_DELTA_COLUMNS = ['dataset_id', ...READ_PHASE_COLUMNS] as const;
/** The key and the phases' read count are integers, their cos and sin sums not. */
const PHASE_DELTA_TYPES = PHASE_DELTA_COLUMNS.map((c) =>
  c === 'dataset_id' || c === 'phase_reads' ? 'bigint' : 'double precision',
);
const STATS_TYPES = STATS_COLUMNS.map((c) => (REAL_STATS.has(c) ? 'double precision' : 'bigint'));
const STATS_HEAD = `insert into dataset_stats (${STATS_COLUMNS.join(', ')})`;

function statsTail(dialect: DialectName): string {
  const pg = dialect === 'postgres';
  const [max, min, t] = pg ? ['greatest', 'least', 'dataset_stats.'] : ['max', 'min', ''];
  /**
   * A decayed sum brought to the merged reference time: `value * 2^(Δt / half-life)`, Δt <= 0.
   * PostgreSQL's double precision raises an error where a result underflows to zero (SQLite
   * gives 0), so there a term that small (under 1e-100, or 300 half-lives old) is 0 outright.
   */
  const decayed = (value: string, at: string, halfLifeMs: number): string => {
    if (!pg) return `${value} * pow(2, (${at} - ${max}(${t}decay_at, excluded.decay_at)) / ${halfLifeMs}.0)`;
    const exp = `(${at} - ${max}(${t}decay_at, excluded.decay_at)) / cast(${halfLifeMs} as double precision)`;
    return `(case when ${value} < 1e-100 or ${exp} < -300 then 0 else ${value} * pow(2, ${exp}) end)`;
  };
  /** The merge of decayed sums (see decay.ts) done in SQL: no read of the old row needed. */
  const decayMerge = (col: string, halfLifeMs: number): string =>
    `${col} = ${decayed(`${t}${col}`, `${t}decay_at`, halfLifeMs)}` +
    ` + ${decayed(`excluded.${col}`, 'excluded.decay_at', halfLifeMs)}`;
  return `on conflict (dataset_id) do update set
  reads = ${t}reads + excluded.reads,
  writes = ${t}writes + excluded.writes,
  scans = ${t}scans + excluded.scans,
  bytes_read = ${t}bytes_read + excluded.bytes_read,
  bytes_written = ${t}bytes_written + excluded.bytes_written,
  first_access = ${min}(coalesce(${t}first_access, excluded.first_access), excluded.first_access),
  last_access = ${max}(coalesce(${t}last_access, excluded.last_access), excluded.last_access),
  ${decayMerge('decay_1h', HALF_LIVES['1h'])},
  ${decayMerge('decay_1d', HALF_LIVES['1d'])},
  ${decayMerge('decay_1w', HALF_LIVES['1w'])},
  ${decayMerge('decay_30d', HALF_LIVES['30d'])},
  decay_at = ${max}(${t}decay_at, excluded.decay_at),
  ${largeReadsMerge(t, max, min)}`;
}

/**
 * mergeLargeReads (large-reads.ts) in SQL: counts add up, and one burst is shared when the two
 * spans of large reads come within BURST_GAP_MS of each other.
 */
function largeReadsMerge(t: string, max: string, min: string): string {
  const touching =
    `${t}large_last is not null and excluded.large_first is not null` +
    ` and excluded.large_first - ${t}large_last < ${BURST_GAP_MS}` +
    ` and ${t}large_first - excluded.large_last < ${BURST_GAP_MS}`;
  const gap = `${max}(0, excluded.large_first - ${t}large_last, ${t}large_first - excluded.large_last) / 3600000.0`;
  const gapSq = `(case when ${t}large_last is not null and excluded.large_first is not null and not (${touching}) then ${gap} * ${gap} else 0 end)`;
  return `large_gap_sq = ${t}large_gap_sq + excluded.large_gap_sq + ${gapSq},
  large_reads = ${t}large_reads + excluded.large_reads,
  large_bytes = ${t}large_bytes + excluded.large_bytes,
  large_bursts = ${t}large_bursts + excluded.large_bursts - (case when ${touching} then 1 else 0 end),
  large_first = ${min}(coalesce(${t}large_first, excluded.large_first), coalesce(excluded.large_first, ${t}large_first)),
  large_last = ${max}(coalesce(${t}large_last, excluded.large_last), coalesce(excluded.large_last, ${t}large_last))`;
}
const STATS_TAIL: Record<DialectName, string> = { sqlite: statsTail('sqlite'), postgres: statsTail('postgres') };

const BUCKET_COLUMNS = [
  'dataset_id',
  'res',
  'bucket_start',
  'reads',
  'writes',
  'scans',
  'bytes',
  'user_reads',
] as const satisfies ReadonlyArray<keyof BucketDelta>;
const BUCKET_TYPES = BUCKET_COLUMNS.map((c) => (c === 'res' ? 'text' : 'bigint'));
const BUCKETS_HEAD = `insert into access_buckets (${BUCKET_COLUMNS.join(', ')})`;
function bucketsTail(dialect: DialectName): string {
  const t = dialect === 'postgres' ? 'access_buckets.' : '';
  return `on conflict (dataset_id, res, bucket_start) do update set
  reads = ${t}reads + excluded.reads,
  writes = ${t}writes + excluded.writes,
  scans = ${t}scans + excluded.scans,
  bytes = ${t}bytes + excluded.bytes,
  user_reads = ${t}user_reads + excluded.user_reads`;
}
const BUCKETS_TAIL: Record<DialectName, string> = { sqlite: bucketsTail('sqlite'), postgres: bucketsTail('postgres') };
