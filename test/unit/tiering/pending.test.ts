import { netSaving } from '../../../src/tiering/pending';

describe('the pending saving', () => {
  test('when the horizon is 30 days, then each move cost comes off one month of saving, the moves sent elsewhere counted apart too', () => {
    const s = netSaving(
      { moves: 3, gross_month: 12, move_cost: 3, off: { moves: 1, gross_month: -2, move_cost: 0.5 } },
      30,
    );
    expect(s).toEqual({
      moves: 3,
      gross_month: 12,
      move_cost: 3,
      saving_month: 9,
      off_recommendation: { moves: 1, saving_month: -2.5 },
    });
  });

  test('when the horizon is 60 days, then a move cost is spread over two months', () => {
    const s = netSaving({ moves: 1, gross_month: 4, move_cost: 2 }, 60);
    expect(s.saving_month).toBe(3);
    expect(s.off_recommendation).toEqual({ moves: 0, saving_month: 0 });
  });
});
