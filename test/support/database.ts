import path from 'node:path';
import type { Kysely } from 'kysely';
import { StatsRepository, StatsWriter } from '../../src/analytics';
import { Database, type DB, type NewDataset } from '../../src/db';
import { type Clock, createLogger, type Logger, systemClock } from '../../src/platform';
import { Bandwidth, ScrubService, type StorageRepository } from '../../src/storage';
import {
  AppliedOnce,
  type BatchEffect,
  DeadLettersRepository,
  EventIdsRepository,
  GapsRepository,
  OffsetsRepository,
} from '../../src/stream';
import { tempDir } from './harness';
import { type DatabaseKind, freshPostgresUrl } from './postgres';

/**
 * A started database of either kind for a repository-level test: SQLite in a fresh temp
 * directory, or a fresh database on the run's PostgreSQL cluster. The caller stops it.
 */
export async function openDatabase(
  kind: DatabaseKind = 'sqlite',
  options: { logger?: Logger; synchronous?: 'NORMAL' | 'FULL' } = {},
): Promise<Database> {
  const database = new Database({
    path: path.join(tempDir(), 'db.sqlite'),
    url: kind === 'postgres' ? await freshPostgresUrl() : undefined,
    synchronous: options.synchronous ?? 'NORMAL',
    logger: options.logger ?? createLogger('silent'),
  });
  await database.start();
  return database;
}

/** Catalog rows `d<id>` for the given ids (1 GB, HOT on ONPREM unless `fields` says otherwise). */
export async function insertDatasets(
  db: Kysely<DB>,
  ids: readonly number[],
  fields: Partial<NewDataset> = {},
): Promise<void> {
  const now = Date.now();
  await db
    .insertInto('datasets')
    .values(
      ids.map((id) => ({
        id,
        name: `d${id}`,
        tags: '[]',
        size_gb: 1,
        tier: 'HOT' as const,
        location: 'ONPREM' as const,
        created_at: now,
        updated_at: now,
        ...fields,
      })),
    )
    .execute();
}

/**
 * The exactly-once applier wired as app-parts.ts does, with the statistics as its effect unless
 * the test gives another.
 */
export function statsApplier(
  db: Kysely<DB>,
  { clock, logger, group = 'g', effect }: { clock: Clock; logger: Logger; group?: string; effect?: BatchEffect },
): AppliedOnce {
  return new AppliedOnce({
    db,
    offsets: new OffsetsRepository(db, group),
    eventIds: new EventIdsRepository(db),
    deadLetters: new DeadLettersRepository(db),
    gaps: new GapsRepository(db),
    effect: effect ?? new StatsWriter({ stats: new StatsRepository(db) }).effect,
    clock,
    logger,
  });
}

/**
 * A scrub over the catalog alone, its timer off: for tests of its runs' records and its lease,
 * where no object is read (the datasets have none, or only the lease is consulted), so no store
 * or keyring is reached.
 */
export function catalogScrub(
  repo: StorageRepository,
  logger: Logger,
  leadership?: ConstructorParameters<typeof ScrubService>[0]['leadership'],
): ScrubService {
  return new ScrubService({
    repo,
    objects: undefined as never,
    keyring: undefined as never,
    bandwidth: new Bandwidth(1e9),
    clock: systemClock,
    logger,
    enabled: false,
    intervalMs: 60_000,
    ...(leadership ? { leadership } : {}),
  });
}
