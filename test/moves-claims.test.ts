import type { Database } from '../src/db';
import { createLogger } from '../src/platform';
import { ClaimRepository } from '../src/storage/moves/claim-repository';
import { MoveClaims } from '../src/storage/moves/claims';
import { CLAIM_LOST } from '../src/storage/moves/errors';
import { insertDatasets, openDatabase } from './support/database';
import { DATABASES } from './support/postgres';
import { waitFor } from './support/harness';

const logger = createLogger('silent');

describe.each(DATABASES)('which instance runs which move, on %s', (kind) => {
  let database: Database;
  let repo: ClaimRepository;
  const claims: MoveClaims[] = [];
  const instance = (name: string, ttlMs = 60_000): MoveClaims => {
    const c = new MoveClaims({ repo, instance: name, ttlMs, logger });
    claims.push(c);
    return c;
  };

  beforeEach(async () => {
    database = await openDatabase(kind, { logger });
    repo = new ClaimRepository(database.db);
    const now = Date.now();
    await insertDatasets(database.db, [1, 2]);
    await database.db
      .insertInto('moves')
      .values(
        [1, 2].map((id) => ({
          id,
          dataset_id: id,
          from_tier: 'HOT' as const,
          from_location: 'ONPREM' as const,
          to_tier: 'COLD' as const,
          to_location: 'ONPREM' as const,
          state: 'planned' as const,
          reason: 'manual',
          catalog_only: 1,
          bytes_total: 0,
          bytes_done: 0,
          created_at: now,
        })),
      )
      .execute();
  });

  afterEach(async () => {
    for (const c of claims.splice(0)) for (const id of [1, 2]) c.drop(id);
    await database.stop();
  });

  it('when three instances claim the same planned move at once, then exactly one gets it', async () => {
    const [a, b, c] = ['a', 'b', 'c'].map((n) => instance(n));
    const won = await Promise.all([a!, b!, c!].map((x) => x.claim(1, ['planned'])));
    expect(won.filter(Boolean)).toHaveLength(1);
    expect(await a!.claimable(10)).toEqual([expect.objectContaining({ id: 2 })]);
  });

  it("when another instance's clock runs ten minutes ahead, then it still sees the owner's claim live: no claim, no orphan", async () => {
    const [a, b] = ['a', 'b'].map((n) => instance(n));
    expect(await a!.claim(1, ['planned'])).toBe(true);
    await database.db.updateTable('moves').set({ state: 'copying' }).where('id', '=', 1).execute();
    const ahead = Date.now() + 10 * 60_000;
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => ahead);
    try {
      expect(await b!.orphaned(10)).toEqual([]);
      expect(await b!.claim(1, ['copying'])).toBe(false);
    } finally {
      clock.mockRestore();
    }
  });

  it('when a move is copying under a live claim, then it is no orphan; when its owner stops renewing, then another instance claims it', async () => {
    const a = instance('a', 300);
    expect(await a.claim(1, ['planned'])).toBe(true);
    await database.db.updateTable('moves').set({ state: 'copying' }).where('id', '=', 1).execute();
    const b = instance('b', 300);
    expect(await b.orphaned(10)).toEqual([]);
    expect(
      b.heldElsewhere(await database.db.selectFrom('moves').selectAll().where('id', '=', 1).executeTakeFirstOrThrow()),
    ).toBe(true);
    await waitFor(async () => (await b.orphaned(10)).length === 1, 'the claim to lapse', 5_000);
    expect(await b.claim(1, ['copying', 'verifying', 'switched'])).toBe(true);
    const row = await database.db.selectFrom('moves').select(['owner']).where('id', '=', 1).executeTakeFirstOrThrow();
    expect(row.owner).toBe('b');
  });

  it('when an instance holds a running move, then its claim is renewed; when another took it over, then the run is aborted as claim lost', async () => {
    const a = instance('a', 600);
    expect(await a.claim(1, ['planned'])).toBe(true);
    const abort = new AbortController();
    a.hold(1, abort);
    // Renewed past its first TTL: nobody else can claim it.
    await new Promise((r) => setTimeout(r, 900));
    expect(await instance('b').claim(1, ['planned'])).toBe(false);
    expect(abort.signal.aborted).toBe(false);
    // As if b found it lapsed (a stalled): the claim moves to b, and a's next renewal sees it.
    await database.db
      .updateTable('moves')
      .set({ owner: 'b', claimed_until: Date.now() + 60_000 })
      .where('id', '=', 1)
      .execute();
    await waitFor(() => abort.signal.aborted, 'the lost claim to abort the run', 5_000);
    expect(abort.signal.reason).toBe(CLAIM_LOST);
  });

  it('when the database belongs to this instance alone at start, then the claims a killed predecessor left on planned moves end at once', async () => {
    expect(await instance('killed').claim(1, ['planned'])).toBe(true);
    const a = instance('a');
    expect(await a.claim(1, ['planned'])).toBe(false);
    await a.forgetPlanned();
    expect(await a.claim(1, ['planned'])).toBe(true);
  });
});
