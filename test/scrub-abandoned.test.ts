import { type Database, type Fence, WriteRefused } from '../src/db';
import { createLogger } from '../src/platform';
import { StorageRepository } from '../src/storage';
import { IntegrityMetricsRepository } from '../src/web/integrity-metrics-repository';
import { catalogScrub, insertDatasets, openDatabase } from './support/database';
import { DATABASES } from './support/postgres';

const logger = createLogger('silent');

describe.each(DATABASES)('scrubs left unfinished, on %s', (kind) => {
  let database: Database;
  let storage: StorageRepository;

  beforeEach(async () => {
    database = await openDatabase(kind, { logger });
    // Catalog-only datasets: a scrub has no object to read, so no store or keyring is reached.
    await insertDatasets(database.db, [1, 2]);
    storage = new StorageRepository(database.db);
  });
  afterEach(async () => {
    await database.stop();
  });

  /** A run as a process leaves it when it dies (or is refused) mid-scrub. */
  const unfinished = async (): Promise<number> =>
    (
      await database.db
        .insertInto('scrub_runs')
        .values({ trigger: 'timer', started_at: Date.now() - 60_000, objects: 3, error: null })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  const runs = () =>
    database.db.selectFrom('scrub_runs').select(['id', 'finished_at', 'objects', 'error']).orderBy('id').execute();
  const scrubService = (leadership?: { fence: Fence }) =>
    catalogScrub(
      storage,
      logger,
      leadership && { ...leadership, acquire: async () => true, holder: async () => 'here' },
    );

  it('when one instance starts after dying mid-scrub, then the run it left is closed as abandoned, with its counts so far, and the API says so', async () => {
    const left = await unfinished();
    const scrub = scrubService();
    await scrub.start();
    await scrub.stop();
    expect(await runs()).toEqual([
      {
        id: left,
        finished_at: expect.any(Number) as number,
        objects: 3,
        error: 'abandoned: the instance stopped before the scrub finished (found at start-up)',
      },
    ]);
    expect((await scrub.view()).last).toMatchObject({
      id: left,
      error: expect.stringMatching(/^abandoned:/) as string,
    });
    // /metrics' last scrub is one that went through every object: closing a run is not finishing it.
    expect((await new IntegrityMetricsRepository(database.db).snapshot()).lastScrub).toBeUndefined();
  });

  it('when instances share a scrub lease, then start-up leaves an unfinished run alone (another instance may be scrubbing)', async () => {
    const running = await unfinished();
    const scrub = scrubService({ fence: async () => undefined });
    await scrub.start();
    await scrub.stop();
    expect(await runs()).toEqual([{ id: running, finished_at: null, objects: 3, error: null }]);
  });

  it('when a scrub starts under the lease, then the run a refused instance left is closed in the same write, and a stale start closes nothing', async () => {
    const refusedRun = await unfinished();
    const stale: Fence = async () => {
      throw new WriteRefused('scrub', 'another instance holds the scrub lease');
    };
    await expect(storage.startScrub('timer', Date.now(), stale)).rejects.toMatchObject({ status: 409 });
    expect(await runs()).toEqual([{ id: refusedRun, finished_at: null, objects: 3, error: null }]);

    const scrub = scrubService({ fence: async () => undefined });
    await scrub.run('api');
    const [old, mine] = await runs();
    expect(old).toMatchObject({ id: refusedRun, objects: 3, finished_at: expect.any(Number) as number });
    expect(old!.error).toBe(
      `abandoned: still unfinished when scrub ${mine!.id} started (its instance stopped, or lost the scrub lease and its report was refused)`,
    );
    expect(mine).toMatchObject({ finished_at: expect.any(Number) as number, error: null });
  });
});
