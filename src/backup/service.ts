import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Kysely } from 'kysely';
import schedule from 'node-schedule';
import { dialectOf, type DB } from '../db';
import { type Clock, type Logger, type Registry, type Service, AppError, oneAtATime } from '../platform';
import { BackupRepository } from './repository';

export interface DatabaseBackupsDeps {
  db: Kysely<DB>;
  /** Where backups are written (BACKUP_DIR, else DATA_DIR/backups). */
  dir: string;
  clock: Clock;
  logger: Logger;
  /** Scheduled backups (BACKUP_DIR set): every `intervalMs`, the newest `keep` of them kept. */
  schedule: { intervalMs: number; keep: number } | undefined;
}

/** The last backup tried, as GET /api/backups and the metrics show it. */
export interface BackupAttempt {
  trigger: 'api' | 'timer';
  at: string;
  ok: boolean;
  file: string | null;
  bytes: number | null;
  ms: number;
  error: string | null;
}

export interface BackupResult {
  file: string;
  bytes: number;
  ms: number;
  at: string;
}

/** What the timer names its backups: only these are pruned down to BACKUP_KEEP. */
const SCHEDULED = /^scheduled-\d{8}T\d{6}Z?\.sqlite$/;

/** A file name of the backup directory: letters, digits, '.', '_' and '-', no path. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/**
 * Consistent copies of the database while it runs. Each is written under a temporary name,
 * fsynced and only then renamed to its own, so a crash mid-backup never leaves a file that looks
 * like a backup and is not one, and never touches an earlier backup.
 */
export class DatabaseBackups implements Service {
  readonly name = 'backup';
  private readonly repo: BackupRepository;
  /** One backup at a time: VACUUM INTO holds a read transaction for the copy's length. */
  private readonly once = oneAtATime((name: string) => this.write(name));
  private job: schedule.Job | undefined;
  private nextAt: number | null = null;
  private stopped = true;
  private last: BackupAttempt | null = null;
  private failures = 0;

  constructor(private readonly deps: DatabaseBackupsDeps) {
    this.repo = new BackupRepository(deps.db);
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.arm();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.job?.cancel();
    this.job = undefined;
    this.nextAt = null;
    await this.once.idle();
  }

  /** For `/readyz`: the last backup (a failed one is shown here, not counted against readiness). */
  details(): Record<string, unknown> {
    return { backup: this.last };
  }

  view(): { dir: string; scheduled: boolean; next_run_at: string | null; last: BackupAttempt | null } {
    const next = this.nextAt === null ? null : new Date(this.nextAt).toISOString();
    return { dir: this.deps.dir, scheduled: !!this.deps.schedule, next_run_at: next, last: this.last };
  }

  /**
   * The last backup in /metrics. A failed backup does not fail /readyz: the instance still serves
   * correctly, and taking it out of rotation would not make the next backup succeed; alert on
   * dim_backup_last{field="ok"} == 0 or on the age of finished_timestamp_seconds instead.
   */
  register(registry: Registry): void {
    const gauge = registry.gauge(
      'dim_backup_last',
      'The last database backup: finished_timestamp_seconds, ok (1/0), bytes, seconds; failures_total since start.',
    );
    registry.collect(async () => {
      const l = this.last;
      gauge.replace([
        { labels: { field: 'failures_total' }, value: this.failures },
        ...(l
          ? [
              { labels: { field: 'finished_timestamp_seconds' }, value: Date.parse(l.at) / 1000 },
              { labels: { field: 'ok' }, value: l.ok ? 1 : 0 },
              { labels: { field: 'bytes' }, value: l.bytes ?? 0 },
              { labels: { field: 'seconds' }, value: l.ms / 1000 },
            ]
          : []),
      ]);
    });
  }

  /** `name`: a plain file name in the backup directory; by default a timestamped one. */
  async backup(name?: string): Promise<BackupResult> {
    if (dialectOf(this.deps.db) === 'postgres') {
      // 501: this server cannot do it, whatever the request; the operator's tool can.
      throw new AppError(
        501,
        'backups copy the embedded SQLite database; this instance runs on PostgreSQL (DATABASE_URL): back it up with pg_dump',
      );
    }
    const file = name ?? `data-in-motion-${new Date(this.deps.clock.now()).toISOString().replace(/[:.]/g, '-')}.sqlite`;
    if (!NAME.test(file))
      throw AppError.badRequest('file: a plain file name (letters, digits, ".", "_", "-"), written in BACKUP_DIR', {
        field: 'file',
      });
    if (this.once.running) throw AppError.conflict('a backup is already running; try again once it has finished');
    return this.attempt('api', file);
  }

  private async attempt(trigger: BackupAttempt['trigger'], name: string): Promise<BackupResult> {
    const started = Date.now();
    const at = (): string => new Date(this.deps.clock.now()).toISOString();
    try {
      const r = await this.once(name);
      this.last = { trigger, at: r.at, ok: true, file: r.file, bytes: r.bytes, ms: r.ms, error: null };
      return r;
    } catch (err) {
      // A refused name is the caller's mistake, not a failed backup.
      if (err instanceof AppError && err.status < 500) throw err;
      this.failures++;
      const error = (err as Error).message;
      this.last = { trigger, at: at(), ok: false, file: null, bytes: null, ms: Date.now() - started, error };
      this.deps.logger.error('backup.failed', { trigger, error: err as Error });
      throw err;
    }
  }

  private arm(): void {
    const every = this.deps.schedule;
    if (!every || this.stopped) return;
    this.nextAt = Date.now() + every.intervalMs;
    this.job = schedule.scheduleJob(new Date(this.nextAt), () => {
      const stamp = new Date(this.deps.clock.now()).toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
      this.attempt('timer', `scheduled-${stamp}.sqlite`)
        .then(() => this.prune(every.keep))
        .catch(() => undefined) // logged and kept as the last attempt
        .finally(() => this.arm());
    });
  }

  /** Keeps the newest `keep` scheduled backups; backups named by hand are never removed. */
  private async prune(keep: number): Promise<void> {
    const names = (await fsp.readdir(this.deps.dir)).filter((n) => SCHEDULED.test(n)).sort();
    for (const n of names.slice(0, Math.max(0, names.length - keep))) {
      await fsp.rm(path.join(this.deps.dir, n), { force: true });
      this.deps.logger.info('backup.pruned', { file: n });
    }
  }

  private async write(name: string): Promise<BackupResult> {
    const { dir, logger } = this.deps;
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    const final = path.join(dir, name);
    if (await exists(final))
      throw AppError.conflict(`${name} already exists in the backup directory`, { field: 'file' });
    const tmp = path.join(dir, `.tmp-${name}-${crypto.randomBytes(4).toString('hex')}`);
    const started = Date.now();
    try {
      await this.repo.vacuumInto(tmp);
      const fh = await fsp.open(tmp, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.rename(tmp, final);
      const d = await fsp.open(dir, 'r');
      try {
        await d.sync();
      } finally {
        await d.close();
      }
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    const bytes = (await fsp.stat(final)).size;
    const result = { file: final, bytes, ms: Date.now() - started, at: new Date(this.deps.clock.now()).toISOString() };
    logger.info('backup.written', { ...result });
    return result;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fsp.access(file);
    return true;
  } catch {
    return false;
  }
}
