import path from 'node:path';
import ejs from 'ejs';
import type { Database } from '../src/db';
import * as fmt from '../src/web/format';
import { queueModel } from '../src/web/pages/move-queue';
import { PagesRepository } from '../src/web/pages/repository';
import { openDatabase } from './support/database';

const MiB = 1024 ** 2;
const T0 = Date.UTC(2026, 2, 1, 10, 0, 0);

describe('the move queue in view: totals, the first moves, and the rest counted', () => {
  let database: Database;
  let repo: PagesRepository;

  beforeAll(async () => {
    database = await openDatabase();
    repo = new PagesRepository(database.db);
    const n = 3_331;
    const datasets = Array.from({ length: n }, (_, i) => ({
      id: i + 1,
      name: `d${i + 1}`,
      tags: '[]',
      size_gb: 1,
      tier: 'WARM' as const,
      location: 'PRIVATE' as const,
      created_at: T0,
      updated_at: T0,
      // Every other dataset has 2 MiB stored; the rest are catalog-only.
      content_bytes: i % 2 === 0 ? 2 * MiB : null,
      object_id: i % 2 === 0 ? `o${i}` : null,
    }));
    for (let i = 0; i < n; i += 500)
      await database.db
        .insertInto('datasets')
        .values(datasets.slice(i, i + 500))
        .execute();
    // Two copies running (1 MiB of 4 MiB done each), then 3,329 planned moves, as a scheduler run leaves them.
    const moves = datasets.map((d, i) => ({
      dataset_id: d.id,
      from_tier: 'WARM' as const,
      from_location: 'PRIVATE' as const,
      to_tier: 'COLD' as const,
      to_location: 'PUBLIC' as const,
      state: i < 2 ? ('copying' as const) : ('planned' as const),
      reason: 'policy',
      catalog_only: d.content_bytes === null ? 1 : 0,
      bytes_total: i < 2 ? 4 * MiB : 0,
      bytes_done: i < 2 ? 1 * MiB : 0,
      created_at: T0,
    }));
    for (let i = 0; i < n; i += 500)
      await database.db
        .insertInto('moves')
        .values(moves.slice(i, i + 500))
        .execute();
    // And some history that is not in the queue.
    await database.db
      .insertInto('moves')
      .values({ ...moves[5]!, state: 'done', bytes_total: 9 * MiB, bytes_done: 9 * MiB })
      .execute();
  });
  afterAll(async () => {
    await database?.stop();
  });

  test('when 3,329 moves are queued behind 2 running copies, then the totals count them all and the head shows the running ones first', async () => {
    const rate = 512 * 1024;
    const q = await queueModel(
      { repo, moves: { progress: (id) => (id <= 2 ? { bytesDone: MiB, startedAt: T0, rate } : undefined) } },
      10,
    );
    expect(q.totals).toEqual({
      queued: 3_329,
      running: 2,
      // 3 MiB left on the running copy with stored bytes (the other is catalog-only: nothing to
      // copy), plus 2 MiB for each planned move with stored bytes (1,665 of them).
      bytes_left: 3 * MiB + 1_665 * 2 * MiB,
      catalog_only: 1_665,
    });
    expect(q.head.map((m) => m.state).slice(0, 3)).toEqual(['copying', 'copying', 'planned']);
    expect(q.head[2]!.id).toBe(3); // the queue's oldest next
    expect(q.more).toBe(3_331 - 10);
    expect(q.rate).toBe(2 * rate);
    expect(q.eta_seconds).toBeCloseTo(q.totals.bytes_left / (2 * rate), 6);
  });

  test('when the overview renders the queue, then it says the totals and "and M more" instead of rows of 0% of 0 B', async () => {
    const q = await queueModel({ repo, moves: { progress: () => undefined } }, 10);
    const html = await ejs.renderFile(path.join(__dirname, '../views/parts/overview-activity.ejs'), {
      activity: { queue: q, decisions: [] },
      fmt,
      now: T0,
      user: null,
    });
    expect(html).toMatch(/<strong>2<\/strong> running · <strong>3,329<\/strong> queued/);
    expect(html).toContain(`<strong>${fmt.bytes(q.totals.bytes_left)}</strong> to copy`);
    expect(html).toContain('and 3,321 more');
    expect(html).not.toContain('0% of 0 B');
    expect((html.match(/<li>/g) ?? []).length).toBe(10);
  });

  test('when nothing is queued, then the queue says it is empty', async () => {
    await database.db.updateTable('moves').set({ state: 'done' }).execute();
    const q = await queueModel({ repo, moves: { progress: () => undefined } }, 10);
    expect(q).toMatchObject({
      totals: { queued: 0, running: 0, bytes_left: 0 },
      more: 0,
      rate: null,
      eta_seconds: null,
    });
    const html = await ejs.renderFile(path.join(__dirname, '../views/parts/overview-activity.ejs'), {
      activity: { queue: q, decisions: [] },
      fmt,
      now: T0,
      user: null,
    });
    expect(html).toContain('The move queue is empty.');
  });
});
