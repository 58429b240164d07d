import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { DB } from '../db';
import { type Clock, type Logger, AppError, oneAtATime } from '../platform';
import { BackupRepository } from './repository';

export interface DatabaseBackupsDeps {
  db: Kysely<DB>;
  /** Where backups are written (BACKUP_DIR, else DATA_DIR/backups). */
  dir: string;
  clock: Clock;
  logger: Logger;
}

export interface BackupResult {
  file: string;
  bytes: number;
  ms: number;
  at: string;
}

/** A file name of the backup directory: letters, digits, '.', '_' and '-', no path. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/**
 * Consistent copies of the database while it runs. Each is written under a temporary name,
 * fsynced and only then renamed to its own, so a crash mid-backup never leaves a file that looks
 * like a backup and is not one, and never touches an earlier backup.
 */
export class DatabaseBackups {
  private readonly repo: BackupRepository;
  /** One backup at a time: VACUUM INTO holds a read transaction for the copy's length. */
  private readonly once = oneAtATime((name: string) => this.write(name));

  constructor(private readonly deps: DatabaseBackupsDeps) {
    this.repo = new BackupRepository(deps.db);
  }

  /** `name`: a plain file name in the backup directory; by default a timestamped one. */
  async backup(name?: string): Promise<BackupResult> {
    const file = name ?? `data-in-motion-${new Date(this.deps.clock.now()).toISOString().replace(/[:.]/g, '-')}.sqlite`;
    if (!NAME.test(file))
      throw AppError.badRequest('file: a plain file name (letters, digits, ".", "_", "-"), written in BACKUP_DIR', {
        field: 'file',
      });
    if (this.once.running) throw AppError.conflict('a backup is already running; try again once it has finished');
    return this.once(file);
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
