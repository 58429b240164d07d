import { Lease, LeaseRepository } from '../src/cluster';
import type { Database } from '../src/db';
import { createLogger } from '../src/platform';
import { openDatabase } from './support/database';
import { DATABASES } from './support/postgres';
import { waitFor } from './support/harness';

const logger = createLogger('silent');

describe.each(DATABASES)('the scheduler lease, on %s', (kind) => {
  let database: Database;
  let repo: LeaseRepository;
  const leases: Lease[] = [];
  const lease = (instance: string, ttlMs: number, exclusive = false): Lease => {
    const l = new Lease({ repo, job: 'job', instance, ttlMs, exclusive, logger });
    leases.push(l);
    return l;
  };

  beforeEach(async () => {
    database = await openDatabase(kind, { logger });
    repo = new LeaseRepository(database.db);
  });

  afterEach(async () => {
    for (const l of leases.splice(0)) await l.stop();
    await database.stop();
  });

  it('when several instances ask at once, then exactly one holds it', async () => {
    const tokens = await Promise.all(['a', 'b', 'c', 'd'].map((i) => repo.acquire('job', i, 10_000)));
    expect(tokens.filter((t) => t !== undefined)).toEqual([1]);
  });

  it('when the holder renews, then nobody else takes it; when it stops renewing, then another does and the token rises', async () => {
    expect(await repo.acquire('job', 'a', 60_000)).toBe(1);
    expect(await repo.renew('job', 'a', 1, 2_000)).toBe(true);
    expect(await repo.acquire('job', 'b', 2_000)).toBeUndefined();
    let token: number | undefined;
    await waitFor(
      async () => (token = await repo.acquire('job', 'b', 60_000)) !== undefined,
      'the lease to run out',
      10_000,
    );
    expect(token).toBe(2);
    // The old holder's token is no longer the row's: its renewal fails.
    expect(await repo.renew('job', 'a', 1, 60_000)).toBe(false);
    expect((await repo.get('job'))?.holder).toBe('b');
  });

  it('when the holder dies (stops renewing), then another instance takes over within the TTL and a third of it', async () => {
    const diedAt = Date.now();
    expect(await repo.acquire('job', 'killed', 600)).toBe(1);
    const b = lease('b', 600);
    await b.start();
    expect(b.held).toBe(false);
    expect(await b.holder()).toBe('killed');
    await waitFor(() => b.held, 'b holding the lease', 10_000);
    expect(Date.now() - diedAt).toBeLessThan(600 + 200 + 500);
    expect(await b.confirm()).toBe(true);
    expect(await b.holder()).toBe('b');
  });

  it('when another instance took the lease over, then the old holder confirms no more and drops it at its next renewal', async () => {
    const a = lease('a', 600);
    await a.start();
    expect(await a.confirm()).toBe(true);
    await repo.seize('job', 'b', 60_000);
    expect(await a.confirm()).toBe(false);
    await waitFor(() => !a.held, 'a letting the lease go', 10_000);
  });

  it('when the holder stops cleanly, then another takes the lease at its next try, without waiting for the TTL', async () => {
    const a = lease('a', 60_000);
    await a.start();
    const b = lease('b', 60_000);
    await b.start();
    expect(b.held).toBe(false);
    await a.stop();
    expect(await b.acquire()).toBe(true);
    expect(await b.confirm()).toBe(true);
  });

  it('when the database is exclusive to this process, then a start takes the lease a killed predecessor left', async () => {
    expect(await repo.acquire('job', 'killed', 60_000)).toBe(1);
    const a = lease('a', 60_000, true);
    await a.start();
    expect(a.held).toBe(true);
    expect((await repo.get('job'))?.token).toBe(2);
    expect(await a.details()).toMatchObject({ instance: 'a', job_lease: { holder: 'a', held_here: true, token: 2 } });
  });

  it("when another instance's clock runs ten minutes ahead, then it still sees the holder's lease live and cannot take it", async () => {
    const a = lease('a', 5_000);
    await a.start();
    expect(a.held).toBe(true);
    const b = lease('b', 5_000);
    const ahead = Date.now() + 10 * 60_000;
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => ahead);
    try {
      await b.start();
      expect(await b.acquire()).toBe(false);
      expect(await b.holder()).toBe('a');
    } finally {
      clock.mockRestore();
    }
    expect(await a.confirm()).toBe(true);
  });
});
