import { spreadEvents } from '../../../src/tiering/replay';

const HOUR = 3_600_000;
const T = Date.UTC(2026, 0, 1);

const bucket = (dataset_id: number, bucket_start: number, reads: number, writes: number, scans = 0, bytes = 0) => ({
  dataset_id,
  bucket_start,
  reads,
  writes,
  scans,
  bytes,
  size: HOUR,
});

describe('spreadEvents: access buckets as a replay trace', () => {
  const names = new Map([
    [1, 'ds-1'],
    [2, 'ds-2'],
  ]);
  const created = new Map([
    ['ds-1', 0],
    ['ds-2', T + HOUR / 2],
  ]);

  test('when two datasets share an hour, then their events come out spread over it and in time order', () => {
    const ev = [...spreadEvents([bucket(1, T, 4, 0, 0, 400), bucket(2, T, 2, 2, 0, 40)], names, created, 1)];
    expect(ev).toHaveLength(8);
    for (let i = 1; i < ev.length; i++) expect(ev[i]!.ts).toBeGreaterThanOrEqual(ev[i - 1]!.ts);
    expect(ev.filter((e) => e.dataset === 'ds-1').map((e) => e.bytes)).toEqual([100, 100, 100, 100]);
    // ds-2 exists from the half hour: none of its events comes before.
    expect(ev.filter((e) => e.dataset === 'ds-2').every((e) => e.ts >= T + HOUR / 2)).toBe(true);
    expect(ev.filter((e) => e.dataset === 'ds-2').map((e) => e.type)).toEqual(['read', 'read', 'write', 'write']);
  });

  test('when a bucket holds scans, then that share of its events is flagged scan', () => {
    const ev = [...spreadEvents([bucket(1, T, 4, 0, 2, 0)], names, created, 1)];
    expect(ev.map((e) => e.scan)).toEqual([true, true, false, false]);
  });

  test('when thinned by half, then half the events are kept, the fractions carried across buckets', () => {
    const buckets = Array.from({ length: 6 }, (_, h) => bucket(1, T + h * HOUR, 3, 0));
    const ev = [...spreadEvents(buckets, names, created, 0.5)];
    // 1.5 per bucket: 1, 2, 1, 2, 1, 2.
    expect(ev).toHaveLength(9);
  });
});
