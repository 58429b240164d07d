import path from 'node:path';
import { Database } from '../src/db';
import { createLogger } from '../src/platform';
import { EventLogRepository } from '../src/stream';
import { DATABASES, tempDir } from './support/harness';
import { freshPostgresUrl } from './support/postgres';

const logger = createLogger('silent');

describe.each(DATABASES)('the embedded bus log on %s', (kind) => {
  let database: Database;

  beforeAll(async () => {
    const url = kind === 'postgres' ? await freshPostgresUrl() : undefined;
    database = new Database({ path: path.join(tempDir(), 'db.sqlite'), synchronous: 'FULL', url, logger });
    await database.start();
  });
  afterAll(() => database.stop());

  test('when appends of one, of 1,000 and of 2,500 entries land, then every entry reads back in order with its dataset and time', async () => {
    const log = new EventLogRepository(database.db);
    const entry = (i: number) => ({ dataset_id: i + 1, payload: `{"n":${i},"quote":"\\""}` });
    await log.append(111, [entry(0)]);
    await log.append(
      222,
      Array.from({ length: 1_000 }, (_, i) => entry(1 + i)),
    );
    // More than one statement's worth: chunks in one transaction.
    await log.append(
      333,
      Array.from({ length: 2_500 }, (_, i) => entry(1_001 + i)),
    );

    const rows = await database.db.selectFrom('event_log').selectAll().orderBy('offset').execute();
    expect(rows).toHaveLength(3_501);
    rows.forEach((r, i) => {
      expect({ dataset_id: r.dataset_id, payload: r.payload }).toEqual(entry(i));
      expect(r.appended_at).toBe(i === 0 ? 111 : i <= 1_000 ? 222 : 333);
      if (i > 0) expect(r.offset).toBeGreaterThan(rows[i - 1]!.offset);
    });
    const read = await log.read(rows[1_000]!.offset, 5);
    expect(read.map((r) => r.payload)).toEqual([1_000, 1_001, 1_002, 1_003, 1_004].map((i) => entry(i).payload));
  });
});
