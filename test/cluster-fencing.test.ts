import path from 'node:path';
import { AlertRepository } from '../src/alerts';
import { Lease, LeaseRepository } from '../src/cluster';
import { Database } from '../src/db';
import { createLogger } from '../src/platform';
import { StorageRepository } from '../src/storage';
import { ClaimRepository } from '../src/storage/moves/claim-repository';
import { ClaimLost } from '../src/storage/moves/errors';
import { DecisionRepository } from '../src/tiering/decision-repository';
import { DATABASES, freshPostgresUrl } from './support/postgres';
import { tempDir, waitFor } from './support/harness';

const logger = createLogger('silent');

/** A process that stops making progress (a long GC, SIGSTOP, a swapped-out VM) while its lease or claim runs out. */
class Pause {
  private resume: (() => void) | undefined;
  private gate: Promise<void> | undefined;
  pause(): void {
    this.gate = new Promise((r) => (this.resume = r));
  }
  go(): void {
    this.resume?.();
    this.gate = undefined;
  }
  wait(): Promise<void> {
    return this.gate ?? Promise.resolve();
  }
}

/** The lease's renewals wait while the process is paused: the renewal timer of a stopped process never fires. */
class PausableLeases extends LeaseRepository {
  constructor(
    db: Database['db'],
    private readonly paused: Pause,
  ) {
    super(db);
  }
  override async renew(name: string, holder: string, token: number, now: number, ttlMs: number): Promise<boolean> {
    await this.paused.wait();
    return super.renew(name, holder, token, now, ttlMs);
  }
}

const decision = (datasetId: number, runId: number) => ({
  dataset_id: datasetId,
  run_id: runId,
  made_at: Date.now(),
  action: 'move' as const,
  rule: null,
  from_location: 'ONPREM' as const,
  from_tier: 'HOT' as const,
  to_location: 'ONPREM' as const,
  to_tier: 'COLD' as const,
  forecast_accesses: 0,
  cost_now_month: 1,
  cost_target_month: 0.5,
  saving_month: 0.5,
  move_cost: 0,
  break_even_days: 0,
  catalog_version: 1,
  explanation: '{}',
});

const batchMove = (datasetId: number, detail: string) => ({
  dataset_id: datasetId,
  from_tier: 'HOT' as const,
  from_location: 'ONPREM' as const,
  to_tier: 'COLD' as const,
  to_location: 'ONPREM' as const,
  reason: 'policy',
  reason_detail: detail,
  decision_id: null,
});

describe.each(DATABASES)('fencing: a stale leader writes nothing, on %s', (kind) => {
  let database: Database;
  const leases: Lease[] = [];

  beforeEach(async () => {
    database = new Database({
      path: path.join(tempDir(), 'db.sqlite'),
      url: kind === 'postgres' ? await freshPostgresUrl() : undefined,
      synchronous: 'NORMAL',
      logger,
    });
    await database.start();
    const now = Date.now();
    await database.db
      .insertInto('datasets')
      .values(
        [1, 2].map((id) => ({
          id,
          name: `d${id}`,
          tags: '[]',
          size_gb: 1,
          tier: 'HOT' as const,
          location: 'ONPREM' as const,
          created_at: now,
          updated_at: now,
        })),
      )
      .execute();
  });

  afterEach(async () => {
    for (const l of leases.splice(0)) await l.stop();
    await database.stop();
  });

  const leaseFor = (instance: string, repo: LeaseRepository): Lease => {
    const l = new Lease({ repo, job: 'tier-scheduler', instance, ttlMs: 400, exclusive: false, logger });
    leases.push(l);
    return l;
  };

  it('when the scheduler leader is paused past its lease and another takes over, then its resumed writes (decisions, planned moves) are refused by the database', async () => {
    const paused = new Pause();
    const a = leaseFor('a', new PausableLeases(database.db, paused));
    await a.start();
    expect(a.held).toBe(true);
    const decisions = new DecisionRepository(database.db);
    const storage = new StorageRepository(database.db);
    // While it holds the lease, its writes go through.
    await decisions.save([decision(1, 1)], a.fence);

    paused.pause();
    const b = leaseFor('b', new LeaseRepository(database.db));
    await b.start();
    await waitFor(() => b.held, 'the other instance to take the lease over', 5_000);
    expect(await a.holder()).toBe('b');

    // The resumed leader has not noticed yet (its renewal is still held up), as a paused process would not have.
    await expect(decisions.save([decision(2, 1)], a.fence)).rejects.toMatchObject({ status: 409 });
    await expect(decisions.log([decision(1, 1)], a.fence)).rejects.toMatchObject({ status: 409 });
    await expect(storage.insertMoves([batchMove(1, 'stale')], Date.now(), a.fence)).rejects.toMatchObject({
      status: 409,
      message: expect.stringContaining('tier-scheduler lease') as string,
    });
    expect(await database.db.selectFrom('decisions').select('dataset_id').execute()).toEqual([{ dataset_id: 1 }]);
    expect(await database.db.selectFrom('decision_log').selectAll().execute()).toEqual([]);
    expect(await database.db.selectFrom('moves').selectAll().execute()).toEqual([]);

    // The new leader writes.
    const created = await storage.insertMoves([batchMove(1, 'fresh')], Date.now(), b.fence);
    expect(created).toHaveLength(1);
    paused.go();
    await waitFor(() => !a.held, 'the old leader to see it lost the lease', 5_000);
  });

  it('when the alerts leader is paused past its lease and another takes over, then the alert it resumes to open is refused', async () => {
    const paused = new Pause();
    const a = new Lease({
      repo: new PausableLeases(database.db, paused),
      job: 'alerts',
      instance: 'a',
      ttlMs: 400,
      exclusive: false,
      logger,
    });
    leases.push(a);
    await a.start();
    paused.pause();
    const b = new Lease({
      repo: new LeaseRepository(database.db),
      job: 'alerts',
      instance: 'b',
      ttlMs: 400,
      exclusive: false,
      logger,
    });
    leases.push(b);
    await b.start();
    await waitFor(() => b.held, 'the other instance to take the alerts lease over', 5_000);
    const alerts = new AlertRepository(database.db);
    const alert = {
      key: 'consumer.lag',
      severity: 'warning' as const,
      title: 'lag',
      detail: '',
      opened_at: Date.now(),
    };
    await expect(alerts.insert(alert, a.fence)).rejects.toMatchObject({ status: 409 });
    expect(await alerts.open()).toEqual([]);
    await alerts.insert(alert, b.fence);
    expect(await alerts.open()).toHaveLength(1);
    paused.go();
  });

  it('when a lease expired with nobody taking it, then its holder is refused until it renews', async () => {
    const paused = new Pause();
    const a = leaseFor('a', new PausableLeases(database.db, paused));
    await a.start();
    paused.pause();
    const row = await new LeaseRepository(database.db).get('tier-scheduler');
    await waitFor(() => Date.now() > Number(row!.expires_at), 'the lease to run out', 5_000);
    await expect(new DecisionRepository(database.db).save([decision(1, 1)], a.fence)).rejects.toMatchObject({
      status: 409,
    });
    paused.go();
    await waitFor(
      async () => Number((await new LeaseRepository(database.db).get('tier-scheduler'))!.expires_at) > Date.now(),
      'its renewal',
    );
    await new DecisionRepository(database.db).save([decision(1, 1)], a.fence);
  });

  it('when a mover is paused past its claim and another instance claims the move, then its resumed journal writes and its switch are refused', async () => {
    const storage = new StorageRepository(database.db);
    const claims = new ClaimRepository(database.db);
    const [move] = await storage.insertMoves([batchMove(1, 'm')], Date.now());
    const id = move!.id;
    expect(await claims.claim(id, ['planned'], 'a', Date.now(), 200)).toBe(true);
    await storage.setMove(id, { state: 'copying' }, undefined, 'a');
    // a stalls; its claim lapses and b recovers the move.
    await waitFor(async () => (await claims.orphaned(Date.now(), 10)).length === 1, 'the claim to lapse', 5_000);
    expect(await claims.claim(id, ['copying'], 'b', Date.now(), 60_000)).toBe(true);

    await expect(storage.setMove(id, { state: 'verifying' }, undefined, 'a')).rejects.toBeInstanceOf(ClaimLost);
    await expect(
      storage.switchMove(
        { id, dataset_id: 1 },
        { tier: 'COLD', location: 'ONPREM' },
        { state: 'done' },
        Date.now(),
        'a',
      ),
    ).rejects.toBeInstanceOf(ClaimLost);
    // Neither the journal nor the dataset moved: the switch's transaction rolled back as a whole.
    expect((await storage.move(id))?.state).toBe('copying');
    expect((await storage.content(1))?.tier).toBe('HOT');

    await storage.switchMove(
      { id, dataset_id: 1 },
      { tier: 'COLD', location: 'ONPREM' },
      { state: 'done' },
      Date.now(),
      'b',
    );
    expect((await storage.move(id))?.state).toBe('done');
    expect((await storage.content(1))?.tier).toBe('COLD');
  });
});
