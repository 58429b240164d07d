import { CostModel } from '../../../src/tiering/cost';
import { DEFAULT_CATALOG } from '../../../src/tiering/catalog';
import { DEFAULT_POLICY } from '../../../src/tiering/decision';
import { parseArgs, runSimulation } from '../../../src/tiering/sim/cli';
import { pretrainedPredictor } from '../../../src/tiering/sim/pretrain';
import { WORKLOADS } from '../../../src/tiering/sim/workloads';

const small = (seed: number) => WORKLOADS['read-once']!.generate({ datasets: 300, days: 60, seed });

describe('a model learnt before the replay (--pretrain)', () => {
  test('when a model is learnt on another trace, then it has matured forecasts past the learning gate before the replay starts', () => {
    const p = pretrainedPredictor(small(101), new CostModel(DEFAULT_CATALOG), DEFAULT_POLICY);
    expect(p.updates).toBeGreaterThanOrEqual(DEFAULT_POLICY.minModelUpdates);
  });

  test('when the product replays with a pretrained model, then every forecast it makes counts as made once the model had learnt, and its cost differs from a fresh start', () => {
    const fresh = runSimulation(small(1), { policies: ['product'] });
    const pre = runSimulation(small(1), { policies: ['product'] }, small(101));
    expect(pre.forecast_quality_trained.observations).toBe(pre.forecast_quality.observations);
    expect(fresh.forecast_quality_trained.observations).toBeLessThan(fresh.forecast_quality.observations);
    expect(pre.policies[0]!.total).not.toBeCloseTo(fresh.policies[0]!.total, 2);
  });

  test('when --pretrain is given with a trace file or with --matrix, then the arguments are refused with the reason', () => {
    expect(parseArgs(['--workload', 'zipf', '--pretrain']).pretrain).toBe(true);
    expect(() => parseArgs(['--workload', 'some.catalog.json', '--pretrain'])).toThrow(/not a named workload/);
    expect(() => parseArgs(['--matrix', '--pretrain'])).toThrow(/not with --matrix/);
  });
});
