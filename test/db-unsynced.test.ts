import path from 'node:path';
import { sql } from 'kysely';
import { Database, type Db } from '../src/db';
import { createLogger } from '../src/platform';
import { tempDir } from './support/harness';

const logger = createLogger('error');

/** SQLite's `synchronous` on the writer's connection: 2 = FULL, 1 = NORMAL. */
async function syncLevel(db: Db): Promise<number> {
  const { rows } = await sql<{ synchronous: number }>`pragma synchronous`.execute(db);
  return rows[0]!.synchronous;
}

describe("the writer without a commit sync (the embedded log's applier)", () => {
  let database: Database;
  beforeEach(async () => {
    database = new Database({ path: path.join(tempDir(), 'db.sqlite'), synchronous: 'FULL', logger });
    await database.start();
  });
  afterEach(() => database.stop());

  test('when a transaction runs on it, then it commits at synchronous=NORMAL and the writer is back at FULL after', async () => {
    const inside = await database.unsynced.transaction().execute(async (trx) => {
      await trx.insertInto('settings').values({ key: 'unsynced-test', value: '1', updated_at: 0 }).execute();
      return syncLevel(trx);
    });
    expect(inside).toBe(1);
    expect(await syncLevel(database.db)).toBe(2);
    const row = await database.db
      .selectFrom('settings')
      .select('value')
      .where('key', '=', 'unsynced-test')
      .executeTakeFirst();
    expect(row?.value).toBe('1');
  });

  test('when its transaction fails, then it is rolled back and the writer is back at FULL', async () => {
    await expect(
      database.unsynced.transaction().execute(async (trx) => {
        await trx.insertInto('settings').values({ key: 'rolled-back', value: '1', updated_at: 0 }).execute();
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(await syncLevel(database.db)).toBe(2);
    const row = await database.db
      .selectFrom('settings')
      .select('value')
      .where('key', '=', 'rolled-back')
      .executeTakeFirst();
    expect(row).toBeUndefined();
  });

  test('when it and the writer are used at once, then their statements take turns on the one connection', async () => {
    const writes = Array.from({ length: 20 }, (_, i) =>
      i % 2 === 0
        ? database.unsynced.transaction().execute(async (trx) => {
            await trx
              .insertInto('settings')
              .values({ key: `t${i}`, value: 'a', updated_at: 0 })
              .execute();
            await trx.updateTable('settings').set({ value: 'b' }).where('key', '=', `t${i}`).execute();
          })
        : database.db
            .insertInto('settings')
            .values({ key: `t${i}`, value: 'b', updated_at: 0 })
            .execute(),
    );
    await Promise.all(writes);
    const rows = await database.db.selectFrom('settings').select(['key', 'value']).where('key', 'like', 't%').execute();
    expect(rows).toHaveLength(20);
    expect(rows.every((r) => r.value === 'b')).toBe(true);
    expect(await syncLevel(database.db)).toBe(2);
  });
});
