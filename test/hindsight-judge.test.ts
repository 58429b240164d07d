import type { App } from '../src/app';
import { ManualClock } from '../src/platform';
import { repriceLogged } from '../src/tiering/explain-view';
import { decodeExplanation } from '../src/tiering/explanation';
import { judgeMove, loggedMove, summariseJudgements, type HindsightSummary } from '../src/tiering/hindsight';
import { HindsightJudge } from '../src/tiering/hindsight-judge';
import { TieringPolicy } from '../src/tiering/policy';
import { insertDatasets } from './support/database';
import { startApp } from './support/harness';

const H = 3_600_000;
const DAY = 24 * H;
const T0 = Date.UTC(2026, 2, 1, 10, 0, 0);
const N = 40;

/** A stored explanation (explanation.ts): size, days here, a 30-day horizon, usage, forecast, features. */
function explanation(id: number): string {
  return `[1,${(1 + (id % 9)) * 1024 ** 3},${10 + id},30,${id % 5},${(id % 5) * 1e6},1,${id % 4},${id % 4},0,0,1000,0,0.1,0.1,0.1,0.1,${id % 30},200,0,0,null,0,0]`;
}

/** What the model's hindsight showed before it kept its prices: every logged move priced again per request. */
async function pricedEveryTime(app: App, now: number): Promise<HindsightSummary> {
  const t = app.tiering;
  const rows = await t.repo.hindsight.latest(1_000, now, await t.repo.hindsight.rolledUntil());
  const judgements = [];
  for (const x of rows) {
    const cost = await t.costModel(x.catalog_version);
    const priced = repriceLogged(x, new TieringPolicy(cost, t.predictor, t.settings));
    const used = { reads: x.reads, readBytes: x.read_bytes, writes: x.writes, writeBytes: x.write_bytes };
    judgements.push(judgeMove(cost, loggedMove(x, decodeExplanation(x.explanation), priced), used, now));
  }
  return summariseJudgements(judgements);
}

describe("the model's hindsight prices each logged move once", () => {
  let app: App;
  let started: Awaited<ReturnType<typeof startApp>> | undefined;
  const clock = new ManualClock(T0 + 10 * DAY);

  beforeAll(async () => {
    started = await startApp({ SCHEDULER_ENABLED: 'false' }, clock);
    app = started.app;
    const db = app.database.db;
    const ids = Array.from({ length: N }, (_, i) => i + 1);
    await insertDatasets(db, ids, {
      tier: 'COLD',
      location: 'PUBLIC',
      created_at: T0 - 60 * DAY,
      updated_at: T0 - 60 * DAY,
    });
    await db
      .insertInto('decision_log')
      .values(
        ids.map((id) => ({
          id,
          dataset_id: id,
          run_id: 1,
          made_at: T0 - (id % 7) * DAY,
          from_location: 'PUBLIC' as const,
          from_tier: 'HOT' as const,
          to_location: 'PUBLIC' as const,
          to_tier: 'COLD' as const,
          rule: null,
          saving_month: 1,
          catalog_version: 1,
          explanation: explanation(id),
        })),
      )
      .execute();
    await db
      .insertInto('moves')
      .values(
        ids.map((id) => {
          const at = T0 - (id % 7) * DAY;
          return {
            dataset_id: id,
            from_tier: 'HOT' as const,
            from_location: 'PUBLIC' as const,
            to_tier: 'COLD' as const,
            to_location: 'PUBLIC' as const,
            state: 'done' as const,
            reason: 'policy',
            decision_id: id,
            catalog_only: 1,
            bytes_total: 0,
            bytes_done: 0,
            created_at: at,
            started_at: at,
            switched_at: at,
            finished_at: at,
          };
        }),
      )
      .execute();
    // Reads after some moves, so some are regretted and some not.
    await db
      .insertInto('access_buckets')
      .values(
        ids
          .filter((id) => id % 3 === 0)
          .map((id) => ({
            dataset_id: id,
            res: 'm' as const,
            bucket_start: T0 + H,
            reads: 50 * id,
            writes: 0,
            scans: 0,
            bytes: 50 * id * 1024 ** 3,
          })),
      )
      .execute();
  });
  afterAll(async () => {
    await started?.stop();
  });

  test('when asked again, after time passed and prices changed, then it shows the same figures as pricing every move again, and prices none twice', async () => {
    const t = app.tiering;
    const judge = new HindsightJudge({
      repo: t.repo.hindsight,
      costModel: (v) => t.costModel(v),
      policyOf: (cost) => new TieringPolicy(cost, t.predictor, t.settings),
      now: () => clock.now(),
    });
    const first = await judge.summary(1_000);
    expect(first.moves).toBe(N);
    expect(first.judged).toBe(0);
    expect(first).toEqual(await pricedEveryTime(app, clock.now()));
    expect(judge.repriced).toBe(N);

    // Later, with new prices (a new catalog version): the logged moves keep their own version's.
    clock.advance(25 * DAY);
    await t.updateCatalog({ placements: { 'PUBLIC/COLD': { storage_gb_month: 0.5 } } }, 'dearer');
    const later = await judge.summary(1_000);
    expect(later).toEqual(await pricedEveryTime(app, clock.now()));
    expect(later.judged).toBe(N);
    expect(later.regretted).toBeGreaterThan(0);
    expect(later.regretted).toBeLessThan(later.judged);
    expect(judge.repriced).toBe(N);
    // The service answers GET /api/model with the same.
    expect(await t.hindsight()).toEqual(later);
  });

  test('when a logged move’s row holds other inputs under the same id, then it is priced again', async () => {
    const t = app.tiering;
    const judge = new HindsightJudge({
      repo: t.repo.hindsight,
      costModel: (v) => t.costModel(v),
      policyOf: (cost) => new TieringPolicy(cost, t.predictor, t.settings),
      now: () => clock.now(),
    });
    await judge.summary(1_000);
    await app.database.db
      .updateTable('decision_log')
      .set({ explanation: explanation(1).replace(`${2 * 1024 ** 3}`, `${500 * 1024 ** 3}`) })
      .where('id', '=', 1)
      .execute();
    const again = await judge.summary(1_000);
    expect(judge.repriced).toBe(N + 1);
    expect(again).toEqual(await pricedEveryTime(app, clock.now()));
  });
});
