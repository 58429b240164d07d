import { costDays, dayStart } from '../../../src/tiering/cost-history';

const DAY = 86_400_000;
const D0 = Date.UTC(2026, 0, 1);

const row = (
  day: number,
  location: 'PRIVATE' | 'PUBLIC',
  tier: 'HOT' | 'WARM' | 'COLD',
  bytes: number,
  cost: number,
  hot: number,
) => ({
  day,
  location,
  tier,
  datasets: 1,
  bytes,
  cost_month: cost,
  all_hot_month: hot,
  catalog_version: 1,
  taken_at: day + 3_600_000,
});

describe('cost history points', () => {
  test('when placement rows of several days are folded, then each day sums its placements, its saving and its cold share', () => {
    const days = costDays([
      row(D0, 'PRIVATE', 'WARM', 300, 3, 6),
      row(D0, 'PUBLIC', 'COLD', 100, 0.5, 2),
      row(D0 + 2 * DAY, 'PUBLIC', 'COLD', 400, 2, 8),
    ]);
    expect(days).toEqual([
      expect.objectContaining({
        day: '2026-01-01',
        datasets: 2,
        bytes: 400,
        cost_month: 3.5,
        all_hot_month: 8,
        saving_month: 4.5,
        cold_share: 0.25,
      }),
      expect.objectContaining({ day: '2026-01-03', datasets: 1, bytes: 400, saving_month: 6, cold_share: 1 }),
    ]);
    expect(days[0]!.placements['PUBLIC/COLD']).toEqual({ datasets: 1, bytes: 100, cost_month: 0.5 });
  });

  test('when there are no rows, then there are no points; a day starts at UTC midnight', () => {
    expect(costDays([])).toEqual([]);
    expect(dayStart(D0 + DAY - 1)).toBe(D0);
  });
});
