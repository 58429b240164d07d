import { DEFAULT_CATALOG } from '../../../src/tiering/catalog';
import { CostModel } from '../../../src/tiering/cost';
import { judgeMove, summariseJudgements, type MoveToJudge } from '../../../src/tiering/hindsight';
import { placementIndex } from '../../../src/tiering/placements';

const DAY = 86_400_000;
const GB = 1024 ** 3;
const T0 = Date.UTC(2026, 0, 1);
const cost = new CostModel(DEFAULT_CATALOG);
const HOT = { location: 'PUBLIC', tier: 'HOT' } as const;
const COLD = { location: 'PUBLIC', tier: 'COLD' } as const;
const none = { reads: 0, readBytes: 0, writes: 0, writeBytes: 0 };

/** A demotion of 500 GB from PUBLIC/HOT to PUBLIC/COLD, forecast to stay unread. */
function demotion(over: Partial<MoveToJudge> = {}): MoveToJudge {
  const size = 500 * GB;
  return {
    id: 1,
    dataset_id: 9,
    made_at: T0,
    from: HOT,
    to: COLD,
    sizeBytes: size,
    daysHere: 60,
    horizonDays: 30,
    predictedFromPerDay: cost.storage(placementIndex(HOT), size, 1),
    predictedToPerDay: cost.storage(placementIndex(COLD), size, 1),
    nextMoveAt: null,
    ...over,
  };
}

describe('moves judged after the fact', () => {
  test('when a demoted dataset stays unread for its horizon, then the move is judged at its horizon and realised its prediction', () => {
    const j = judgeMove(cost, demotion(), none, T0 + 40 * DAY);
    expect(j.ended_by).toBe('horizon');
    expect(j.days).toBe(30);
    expect(j.realised_saving).toBeGreaterThan(0);
    expect(j.realised_saving).toBeCloseTo(j.predicted_saving, 4);
    expect(j.regretted).toBe(false);
  });

  test('when the horizon has not passed and nothing moved it again, then the move is pending and not counted', () => {
    const j = judgeMove(cost, demotion(), none, T0 + 10 * DAY);
    expect(j).toMatchObject({ ended_by: 'pending', days: 10, regretted: false });
    const s = summariseJudgements([j]);
    expect(s).toMatchObject({ moves: 1, judged: 0, regretted: 0, regretted_share: null, realised_saving: 0 });
  });

  test('when the demoted dataset is read in full and moved back within days, then the retrieval and early deletion make the move regretted', () => {
    const used = { reads: 3, readBytes: 3 * 500 * GB, writes: 0, writeBytes: 0 };
    const j = judgeMove(cost, demotion({ nextMoveAt: T0 + 5 * DAY }), used, T0 + 40 * DAY);
    expect(j.ended_by).toBe('next-move');
    expect(j.days).toBe(5);
    const early = cost.earlyDeletion(placementIndex(COLD), 500 * GB, 5);
    expect(early).toBeGreaterThan(0);
    expect(j.realised_saving).toBeLessThan(j.predicted_saving - early);
    expect(j.regretted).toBe(true);
    const s = summariseJudgements([j, judgeMove(cost, demotion({ id: 2 }), none, T0 + 40 * DAY)]);
    expect(s).toMatchObject({ moves: 2, judged: 2, regretted: 1, regretted_share: 0.5 });
    expect(s.realised_saving).toBeCloseTo(j.realised_saving + s.latest[1]!.realised_saving, 4);
  });
});
