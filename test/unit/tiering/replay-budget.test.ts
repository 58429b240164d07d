import { CostModel } from '../../../src/tiering/cost';
import { DEFAULT_CATALOG } from '../../../src/tiering/catalog';
import { DEFAULT_POLICY, type PolicySettings } from '../../../src/tiering/decision';
import { TieringPolicy } from '../../../src/tiering/policy';
import { Predictor } from '../../../src/tiering/predictor';
import { productPolicy } from '../../../src/tiering/sim/policies';
import { simulate } from '../../../src/tiering/sim/runner';
import type { Trace } from '../../../src/tiering/sim/trace';

const GB = 1024 ** 3;
const start = Date.UTC(2025, 0, 1);

/** Five datasets never read: each is demoted once it has been idle a whole horizon (day 30). */
const idleFive = (days: number): Trace => ({
  catalog: {
    workload: 'idle-five',
    description: 'five idle datasets',
    start,
    days,
    datasets: [0, 1, 2, 3, 4].map((k) => ({ name: `idle-${k}`, size_bytes: 500 * GB, created_at: start })),
  },
  *events() {},
});

function productMoves(runsPerStep: number | undefined, budgetMoves: number): number {
  const cost = new CostModel(DEFAULT_CATALOG);
  const settings: PolicySettings = { ...DEFAULT_POLICY, minModelUpdates: 0, budgetMoves };
  const predictor = new Predictor();
  const r = simulate(idleFive(30), {
    cost,
    settings,
    predictor,
    policies: [productPolicy(new TieringPolicy(cost, predictor, settings))],
    optimum: false,
    ...(runsPerStep === undefined ? {} : { runsPerStep }),
  });
  return r.policies[0]!.moves;
}

describe('the replay grants the per-run budget once per live run a step stands for', () => {
  test('when a step stands for one run and a run may move one dataset, then one of five idle datasets moves on the day they fall due', () => {
    expect(productMoves(1, 1)).toBe(1);
  });

  test('when a step stands for five runs, then all five move on that day', () => {
    expect(productMoves(5, 1)).toBe(5);
  });

  test('when nothing is said, then a daily step stands for the live scheduler’s runs of a day (every 5 minutes)', () => {
    expect(productMoves(undefined, 1)).toBe(5);
  });
});
