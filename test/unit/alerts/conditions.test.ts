import { gatherConditions, type ConditionSources } from '../../../src/alerts/conditions';

const none = { newest: 0, since: 0, latest: null };

function sources(over: Partial<ConditionSources> = {}): ConditionSources {
  return {
    repo: { covered: async () => 0, failedMoves: async () => none, integrityFailures: async () => none },
    gaps: async () => [],
    lag: async () => 0,
    lagThreshold: 1_000,
    health: async () => ({ database: 'ok', process: 'ok' }),
    ...over,
  };
}

describe('alert conditions', () => {
  test('when everything is well, then there is no condition', async () => {
    expect(await gatherConditions(sources())).toEqual([]);
  });

  test('when the consumer lags past the threshold, then consumer.lag is a condition; at the threshold it is not', async () => {
    expect(await gatherConditions(sources({ lag: async () => 1_000 }))).toEqual([]);
    const [c] = await gatherConditions(sources({ lag: async () => 1_001 }));
    expect(c).toMatchObject({ key: 'consumer.lag', kind: 'state', title: 'Consumer lag 1001 events' });
  });

  test('when the lag cannot be read, then it raises nothing', async () => {
    expect(await gatherConditions(sources({ lag: () => Promise.reject(new Error('broker down')) }))).toEqual([]);
  });

  test('when a readiness check fails (an unreachable store), then check:NAME is a condition with its reason', async () => {
    const c = await gatherConditions(
      sources({
        health: async () => ({ database: 'ok', 'store:PUBLIC': 'unreachable: ECONNREFUSED', process: 'shutting down' }),
      }),
    );
    expect(c).toEqual([
      expect.objectContaining({
        key: 'check:store:PUBLIC',
        kind: 'state',
        severity: 'critical',
        detail: 'unreachable: ECONNREFUSED',
      }),
    ]);
  });

  test('when failed moves come after the covered watermark, then moves.failed counts only those', async () => {
    const c = await gatherConditions(
      sources({
        repo: {
          covered: async (k) => (k === 'moves.failed' ? 7 : 0),
          failedMoves: async (after) => ({ newest: 9, since: after === 7 ? 2 : 99, latest: 'move #9: boom' }),
          integrityFailures: async () => none,
        },
      }),
    );
    expect(c).toEqual([expect.objectContaining({ key: 'moves.failed', title: '2 moves failed', watermark: 9 })]);
  });
});
