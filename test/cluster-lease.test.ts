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
    const now = Date.now();
    const tokens = await Promise.all(['a', 'b', 'c', 'd'].map((i) => repo.acquire('job', i, now, 10_000)));
    expect(tokens.filter((t) => t !== undefined)).toEqual([1]);
  });

  it('when the holder renews, then nobody else takes it; when it stops renewing, then another does and the token rises', async () => {
    const t0 = Date.now();
    expect(await repo.acquire('job', 'a', t0, 1_000)).toBe(1);
    expect(await repo.renew('job', 'a', 1, t0 + 900, 1_000)).toBe(true);
    expect(await repo.acquire('job', 'b', t0 + 1_500, 1_000)).toBeUndefined();
    expect(await repo.acquire('job', 'b', t0 + 2_000, 1_000)).toBe(2);
    // The old holder's token is no longer the row's: its renewal fails.
    expect(await repo.renew('job', 'a', 1, t0 + 2_100, 1_000)).toBe(false);
    expect((await repo.get('job'))?.holder).toBe('b');
  });

  it('when the holder dies (stops renewing), then another instance takes over within the TTL and a third of it', async () => {
    const diedAt = Date.now();
    expect(await repo.acquire('job', 'killed', diedAt, 600)).toBe(1);
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
    await repo.seize('job', 'b', Date.now(), 60_000);
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
    expect(await repo.acquire('job', 'killed', Date.now(), 60_000)).toBe(1);
    const a = lease('a', 60_000, true);
    await a.start();
    expect(a.held).toBe(true);
    expect((await repo.get('job'))?.token).toBe(2);
    expect(await a.details()).toMatchObject({ instance: 'a', job_lease: { holder: 'a', held_here: true, token: 2 } });
  });
});
