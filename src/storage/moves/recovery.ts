import type { Clock, Logger } from '../../platform';
import type { Location, MoveRow, MoveState, Tier } from '../../db';
import { CryptoError } from '../crypto';
import type { Keyring } from '../keyring';
import type { StorageRepository } from '../repository';
import type { StoredObjects } from '../stored-objects';
import type { TierTree } from '../tier-tree';
import type { MoveClaims } from './claims';
import { pointsAtSource } from './execute';
import type { MoveStore, Placement } from './store';

export interface RecoveryDeps {
  repo: StorageRepository;
  store: MoveStore;
  tree: TierTree;
  objects: StoredObjects;
  keyring: Keyring;
  clock: Clock;
  logger: Logger;
}

/**
 * Start-up recovery, before the queue runs: interrupted moves that had not switched are rolled
 * back (the partial copy removed) and planned again; switched ones are finished (the source
 * removed). Then temporaries, and unreferenced objects known to be superseded, are removed.
 * Unless `exclusive` (no other instance can share the database), only moves whose owner stopped
 * renewing its claim are touched, each claimed first, and objects another instance may be
 * writing are left alone.
 */
export async function recoverMoves(deps: RecoveryDeps, claims: MoveClaims, exclusive: boolean): Promise<void> {
  const inFlight: MoveState[] = ['copying', 'verifying', 'switched'];
  if (exclusive) await claims.forgetPlanned();
  const moves = exclusive ? await deps.repo.movesIn(inFlight, 1_000_000) : await claims.orphaned(1_000_000);
  for (const m of moves) {
    if (!exclusive && !(await claims.claim(m.id, inFlight))) continue;
    await recoverMove(deps, m);
  }
  await removeOrphans(deps, !exclusive);
}

/** One interrupted move, from what the store holds: finished when it had switched, else rolled back and planned again. */
export async function recoverMove(deps: RecoveryDeps, m: MoveRow): Promise<void> {
  const { repo, store, clock, logger } = deps;
  const log = logger.child({ move_id: m.id, dataset_id: m.dataset_id });
  if (m.catalog_only || !m.object_id) {
    await repo.setMove(m.id, { state: 'planned', claimed_until: null });
    return;
  }
  if (m.state === 'switched') {
    await store.remove({ location: m.from_location, tier: m.from_tier }, m.object_id);
    await repo.setMove(m.id, { state: 'done', error: null, finished_at: clock.now() });
    log.warn('move.recovered', { was: m.state, action: 'finished: source removed after the switch' });
  } else {
    // Only while the source is there: after a restore from a backup taken mid-move, the copy may be all there is.
    const from = { location: m.from_location, tier: m.from_tier };
    if ((await pointsAtSource(repo, m)) && (await sourceExists(store, from, m.object_id)))
      await store.remove({ location: m.to_location, tier: m.to_tier }, m.object_id);
    await repo.setMove(m.id, {
      state: 'planned',
      bytes_done: 0,
      error: `interrupted while ${m.state}; rolled back and planned again`,
      claimed_until: null,
    });
    log.warn('move.recovered', { was: m.state, action: 'rolled back (partial copy removed) and planned again' });
  }
}

/** Written to within the last ten minutes: perhaps by another instance's upload or move still under way. */
async function recentlyWritten(f: { modifiedAt(): Promise<number | undefined> }): Promise<boolean> {
  const at = await f.modifiedAt();
  return at !== undefined && Date.now() - at < 10 * 60_000;
}

async function sourceExists(store: MoveStore, at: Placement, objectId: string): Promise<boolean> {
  try {
    await store.size(at, objectId);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Temporaries are left by crashes: nothing else reads them. An object no dataset points at is
 * removed only when it is known to be garbage: a version 1 object (its data key was only ever in
 * the database, so nothing can read it), or one whose label names a dataset that points at
 * another object that is present (an upload or move that crashed before its switch). Any other
 * is kept and reported: after the database was lost or restored from an older backup, it may be
 * the only copy of a dataset, which `recover` puts back in the catalog.
 */
async function removeOrphans(deps: RecoveryDeps, shared: boolean): Promise<void> {
  const { repo, objects, logger } = deps;
  const referenced = await repo.referencedObjects();
  // A store that cannot be reached now is swept at the next start; /readyz names it meanwhile.
  const entries = await objects.list((location, err) =>
    logger.warn('storage.orphan_sweep_skipped', { location, error: err as Error }),
  );
  const stored = new Set(entries.flatMap((f) => (f.objectId ? [`${f.location}/${f.tier}/${f.objectId}`] : [])));
  // Shared stores: another live instance may be writing a temporary or publishing a copy right now.
  const busy = shared
    ? new Set((await repo.movesIn(['planned', 'copying', 'verifying', 'switched'])).map((m) => m.object_id))
    : undefined;
  for (const f of entries) {
    if (!f.tmp && f.objectId && referenced.has(`${f.location}/${f.tier}/${f.objectId}`)) continue;
    if (busy && ((f.objectId && busy.has(f.objectId)) || (await recentlyWritten(f)))) continue;
    const file = f.name;
    const kind = f.tmp || !f.objectId ? 'temporary' : await supersededBy(deps, { ...f, objectId: f.objectId }, stored);
    if (kind === undefined) {
      logger.warn('storage.unreferenced_kept', {
        file,
        hint: 'no dataset points at this object: `npm run cli -- recover` (product stopped) catalogs or reports it',
      });
      continue;
    }
    await f.remove();
    logger.warn('storage.orphan_removed', { file, kind });
  }
}

/**
 * Why an unreferenced object is garbage ('unlabelled' or 'superseded'), or undefined to keep it.
 * Where it is comes from the store, not the label: a tier change inside an object store is the
 * server's copy, which keeps the label it had.
 */
async function supersededBy(
  { repo, keyring, objects }: RecoveryDeps,
  at: { location: Location; tier: Tier; objectId: string },
  stored: Set<string>,
): Promise<'unlabelled' | 'superseded' | undefined> {
  try {
    const h = await objects.header(at.location, at.tier, at.objectId);
    if (!h.key) return 'unlabelled';
    const { facts } = h.open(keyring.unwrap(h.key.kekId, h.key.wrapped));
    const row = await repo.content(facts.dataset_id);
    const current = row?.object_id && `${row.location}/${row.tier}/${row.object_id}`;
    return current && current !== `${at.location}/${at.tier}/${facts.object_id}` && stored.has(current)
      ? 'superseded'
      : undefined;
  } catch (err) {
    if (err instanceof CryptoError) return undefined;
    throw err;
  }
}
