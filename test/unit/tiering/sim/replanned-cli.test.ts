import { parseArgs, runSimulation } from '../../../../src/tiering/sim/cli';
import { WORKLOADS } from '../../../../src/tiering/sim/workloads';

describe('the re-planned bound on the command line', () => {
  it('when --replan-grid is below 1 or not a number, then it is refused naming the flag', () => {
    expect(() => parseArgs(['--workload', 'zipf', '--replan-grid', '0.5'])).toThrow(/--replan-grid/);
    expect(() => parseArgs(['--workload', 'zipf', '--replan-grid', 'x'])).toThrow(/--replan-grid/);
    expect(parseArgs(['--workload', 'zipf', '--policy', 'replanned', '--replan-grid', '1']).replanGrid).toBe(1);
  });

  it('when it is asked for by name, then its row is added; when every policy is, then it is not', () => {
    const trace = WORKLOADS['zipf']!.generate({ datasets: 30, days: 20 });
    const asked = runSimulation(trace, { policies: ['informed', 'replanned'], replanGrid: 1.05 });
    expect(asked.policies.map((p) => p.policy)).toEqual(['informed', 'replanned']);
    expect(asked.policies[1]!.description).toMatch(/grid 1\.05/);
    const all = runSimulation(trace, { policies: [] });
    expect(all.policies.map((p) => p.policy)).not.toContain('replanned');
  });

  it('when the trace is a recorded one with no expected use, then it is refused', () => {
    const trace = WORKLOADS['zipf']!.generate({ datasets: 5, days: 3 });
    const recorded = { catalog: trace.catalog, events: () => trace.events() };
    expect(() => runSimulation(recorded, { policies: ['replanned'] })).toThrow(/replanned.*named workload/);
  });
});
