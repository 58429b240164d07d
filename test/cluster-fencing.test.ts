import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AlertRepository, OutboxRepository, WebhookSender } from '../src/alerts';
import { Lease, LeaseRepository } from '../src/cluster';
import type { Database } from '../src/db';
import { createLogger } from '../src/platform';
import { StorageRepository } from '../src/storage';
import { ClaimRepository } from '../src/storage/moves/claim-repository';
import { ClaimLost } from '../src/storage/moves/errors';
import { LABEL_DAYS, Predictor, TieringRepository } from '../src/tiering';
import { DecisionRepository } from '../src/tiering/decision-repository';
import { catalogScrub, insertDatasets, openDatabase } from './support/database';
import { DATABASES } from './support/postgres';
import { waitFor } from './support/harness';

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
  override async renew(name: string, holder: string, token: number, ttlMs: number): Promise<boolean> {
    await this.paused.wait();
    return super.renew(name, holder, token, ttlMs);
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
    database = await openDatabase(kind, { logger });
    await insertDatasets(database.db, [1, 2]);
  });

  const pauses: Pause[] = [];
  afterEach(async () => {
    for (const p of pauses.splice(0)) p.go();
    for (const l of leases.splice(0)) await l.stop();
    await database.stop();
  });

  /**
   * `job`'s lease held by instance a, paused (its renewals wait) past the lease, and taken over by
   * b; a has not noticed, as a paused process would not have. `refused` hears every refusal of a's fence.
   */
  const takenOver = async (job: string): Promise<{ a: Lease; b: Lease; refused: string[]; resume(): void }> => {
    const paused = new Pause();
    pauses.push(paused);
    const lease = (instance: string, repo: LeaseRepository): Lease => {
      const l = new Lease({ repo, job, instance, ttlMs: 400, exclusive: false, logger });
      leases.push(l);
      return l;
    };
    const a = lease('a', new PausableLeases(database.db, paused));
    const refused: string[] = [];
    a.onRefused((j) => refused.push(j));
    await a.start();
    paused.pause();
    const b = lease('b', new LeaseRepository(database.db));
    await b.start();
    await waitFor(() => b.held, `the other instance to take the ${job} lease over`, 5_000);
    return { a, b, refused, resume: () => paused.go() };
  };
  const count = async (table: 'scheduler_runs' | 'forecast_observations' | 'scrub_runs' | 'integrity_failures') =>
    Number(
      (
        await database.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

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
    expect(await claims.claim(id, ['planned'], 'a', 200)).toBe(true);
    await storage.setMove(id, { state: 'copying' }, undefined, 'a');
    // a stalls; its claim lapses and b recovers the move.
    await waitFor(async () => (await claims.orphaned(10)).length === 1, 'the claim to lapse', 5_000);
    expect(await claims.claim(id, ['copying'], 'b', 60_000)).toBe(true);

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

  it('when the scheduler leader is paused past its lease and another takes over, then its run records, forecasts, labels, model and cleared decisions are refused', async () => {
    const { a, b, refused } = await takenOver('tier-scheduler');
    const repo = new TieringRepository(database.db);
    const now = Date.now();
    const observation = {
      dataset_id: 1,
      observed_at: now - 1_000,
      due_at: now - 1,
      features: '[]',
      warm_total: 0,
      predicted: 1,
      seed_regression: 0,
      seed_ewma: 0,
    };
    // What the new leader wrote: its running run, a decision, an observation due for labelling.
    const running = await repo.runs.start('timer', now, b.fence);
    await repo.decisions.save([decision(1, running)], b.fence);
    await repo.observations.add([observation], b.fence);
    const [due] = await repo.observations.due(now, 10);
    const model = new Predictor(LABEL_DAYS).state();

    await expect(repo.runs.start('timer', now, a.fence)).rejects.toMatchObject({ status: 409 });
    await expect(repo.runs.closeAbandoned(now, a.fence)).rejects.toMatchObject({ status: 409 });
    await expect(
      repo.runs.finish(
        running,
        {
          finished_at: now,
          datasets: 0,
          moves: 0,
          held: {},
          catalog_version: null,
          pending_saving_month: null,
          error: 'x',
        },
        a.fence,
      ),
    ).rejects.toMatchObject({ status: 409 });
    await expect(repo.observations.add([observation], a.fence)).rejects.toMatchObject({ status: 409 });
    await expect(repo.observations.train([{ id: due!.id, actual: 5 }], model, now, a.fence)).rejects.toMatchObject({
      status: 409,
    });
    await expect(repo.decisions.delete([1], a.fence)).rejects.toMatchObject({ status: 409 });

    // Nothing of the stale leader's: the new leader's run still running, one observation unlabelled, no model, its decision kept.
    expect(await database.db.selectFrom('scheduler_runs').select(['id', 'finished_at']).execute()).toEqual([
      { id: running, finished_at: null },
    ]);
    expect(await count('forecast_observations')).toBe(1);
    expect(await repo.observations.pending()).toBe(1);
    expect(await repo.observations.predictorState()).toBeUndefined();
    expect((await repo.decisions.get(1))?.dataset_id).toBe(1);
    // Each refusal counted once (the metrics' counter hears these).
    expect(refused).toEqual(Array(6).fill('tier-scheduler'));

    // The new leader's own writes go through: labels and model together.
    await repo.observations.train([{ id: due!.id, actual: 5 }], model, now, b.fence);
    expect(await repo.observations.pending()).toBe(0);
    expect(await repo.observations.predictorState()).toEqual(model);
  });

  it('when the alerts leader is paused past its lease and another takes over, then its closes, updates and pruning are refused', async () => {
    const { a, b } = await takenOver('alerts');
    const alerts = new AlertRepository(database.db);
    const now = Date.now();
    const open = await alerts.insert(
      { key: 'consumer.lag', severity: 'warning', title: 'lag', detail: '', opened_at: now },
      b.fence,
    );
    const old = await alerts.insert(
      { key: 'check:db', severity: 'critical', title: 'db', detail: '', opened_at: now - 10 },
      b.fence,
    );
    await alerts.close(old.id, now - 5, b.fence);

    await expect(alerts.close(open.id, now, a.fence)).rejects.toMatchObject({ status: 409 });
    await expect(alerts.update(open.id, { title: 'stale' }, a.fence)).rejects.toMatchObject({ status: 409 });
    await expect(alerts.prune(now, 0, a.fence)).rejects.toMatchObject({ status: 409 });
    expect((await alerts.recent(10)).map((x) => [x.id, x.title, x.closed_at !== null])).toEqual([
      [old.id, 'db', true],
      [open.id, 'lag', false],
    ]);

    expect(await alerts.prune(now, 0, b.fence)).toBe(1);
    expect(await alerts.close(open.id, now, b.fence)).toMatchObject({ id: open.id });
  });

  it('when the scrub leader is paused past its lease and another takes over, then its report, verified marks and damage records are refused', async () => {
    const { a, b } = await takenOver('scrub');
    const storage = new StorageRepository(database.db);
    await database.db.updateTable('datasets').set({ object_id: 'obj-1', damaged_at: 1, damage: 'earlier' }).execute();
    const scrub = await storage.startScrub('timer', Date.now(), b.fence);

    await expect(storage.startScrub('timer', Date.now(), a.fence)).rejects.toMatchObject({ status: 409 });
    await expect(storage.setScrub(scrub, { objects: 9, finished_at: Date.now() }, a.fence)).rejects.toMatchObject({
      status: 409,
    });
    await expect(storage.markVerified(1, 'obj-1', Date.now(), a.fence)).rejects.toMatchObject({ status: 409 });
    await expect(
      storage.recordDamage(
        { dataset_id: 2, object_id: 'obj-1', found_by: 'scrub', detail: 'stale', request_id: null, at: Date.now() },
        a.fence,
      ),
    ).rejects.toMatchObject({ status: 409 });

    expect(await count('scrub_runs')).toBe(1);
    expect(await storage.lastScrub()).toMatchObject({ id: scrub, objects: 0, finished_at: null });
    expect(await count('integrity_failures')).toBe(0);
    expect(
      await database.db.selectFrom('datasets').select(['id', 'verified_at', 'damage']).orderBy('id').execute(),
    ).toEqual([
      { id: 1, verified_at: null, damage: 'earlier' },
      { id: 2, verified_at: null, damage: 'earlier' },
    ]);
    expect(await storage.markVerified(1, 'obj-1', Date.now(), b.fence)).toBe(true);
  });

  it('when another instance holds the scrub lease, then a scrub asked for here answers 409 naming it and records nothing', async () => {
    const { b } = await takenOver('scrub');
    const c = new Lease({
      repo: new LeaseRepository(database.db),
      job: 'scrub',
      instance: 'c',
      ttlMs: 400,
      exclusive: false,
      logger,
    });
    leases.push(c);
    const storage = new StorageRepository(database.db);
    // Only the lease is consulted before the refusal: no store, keyring or object is reached.
    const scrubOn = (lease: Lease) => catalogScrub(storage, logger, lease);
    await expect(scrubOn(c).mayRun()).rejects.toMatchObject({
      status: 409,
      message: expect.stringContaining('runs on b') as string,
    });
    await scrubOn(b).mayRun();
    expect(await count('scrub_runs')).toBe(0);
  });

  describe('webhook delivery', () => {
    let hook: { posts: string[]; url: string; close(): Promise<void> };
    const senders: WebhookSender[] = [];
    beforeEach(async () => {
      const posts: string[] = [];
      const server = http.createServer((req, res) => {
        posts.push(String(req.headers['x-delivery-id']));
        req.resume().on('end', () => res.writeHead(204).end());
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      hook = {
        posts,
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
        close: () => new Promise<void>((r) => server.close(() => r())),
      };
    });
    afterEach(async () => {
      for (const p of pauses) p.go();
      for (const s of senders.splice(0)) await s.stop();
      await hook.close();
    });

    /** A deliverer whose outbox stops (as its process would) just before or just after claiming a post. */
    const deliverer = (
      lease: Lease,
      log: typeof logger,
      pause?: { at: 'before' | 'after'; gate: Pause; reached: () => void },
    ) => {
      class Stalling extends OutboxRepository {
        override async claim(id: number, now: number, until: number, fence?: Parameters<OutboxRepository['claim']>[3]) {
          if (pause?.at === 'before') {
            pause.reached();
            await pause.gate.wait();
          }
          const got = await super.claim(id, now, until, fence);
          if (pause?.at === 'after') {
            pause.reached();
            await pause.gate.wait();
          }
          return got;
        }
      }
      const s = new WebhookSender({
        url: hook.url,
        outbox: new Stalling(database.db),
        logger: log,
        leadership: lease,
        timeoutMs: 300,
        pollMs: 50,
        baseDelayMs: 50,
      });
      senders.push(s);
      return s;
    };

    it.each(['before', 'after'] as const)(
      'when the deliverer is paused %s claiming a post and another instance takes over, then the post is delivered once',
      async (at) => {
        const outbox = new OutboxRepository(database.db);
        const id = await outbox.add('{"event":"alert.opened"}', Date.now());
        const paused = new Pause();
        const leasePause = new Pause();
        pauses.push(paused, leasePause);
        paused.pause();
        let reached = false;
        const logs: string[] = [];
        const aLog = createLogger('info', {}, (l) => void logs.push(l));
        const events = () => logs.map((l) => (JSON.parse(l) as { event: string }).event);
        const a = new Lease({
          repo: new PausableLeases(database.db, leasePause),
          job: 'alerts',
          instance: 'a',
          ttlMs: 400,
          exclusive: false,
          logger: aLog,
        });
        leases.push(a);
        const refused: string[] = [];
        a.onRefused((j) => refused.push(j));
        await a.start();
        await deliverer(a, aLog, { at, gate: paused, reached: () => (reached = true) }).start();
        await waitFor(() => reached, 'the deliverer to reach its claim', 5_000);
        leasePause.pause();
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

        if (at === 'before') {
          // Resumed before the new leader delivers: its claim is refused by the database, nothing is posted.
          paused.go();
          await waitFor(() => refused.length === 1, 'the stale claim to be refused', 5_000);
          expect(hook.posts).toEqual([]);
          expect(await outbox.head()).toMatchObject({ id, attempts: 0 });
          // Logged once, by the fence, not again by the delivery loop.
          expect(events().filter((e) => e === 'lease.write_refused')).toHaveLength(1);
          expect(events()).not.toContain('alerts.webhook_outbox_failed');
        }
        await deliverer(b, logger).start();
        await waitFor(() => hook.posts.length === 1, 'the new leader to deliver', 5_000);
        await waitFor(async () => (await outbox.count()) === 0, 'the post to be marked delivered', 5_000);
        paused.go();
        leasePause.go();
        // Resumed after its claim ran out (or was refused): it does not post.
        if (at === 'after')
          await waitFor(
            () => events().includes('alerts.webhook_claim_expired'),
            'the stale deliverer to give up',
            5_000,
          );
        await waitFor(
          () => !a.held && events().includes('lease.lost'),
          'the stale leader to see it lost the lease',
          5_000,
        );
        expect(hook.posts).toEqual([String(id)]);
      },
    );
  });
});
