import { bucketDeltas } from '../../../src/analytics/aggregate';
import { bucketStart, resolutionFor } from '../../../src/analytics/buckets';
import type { BusEvent } from '../../../src/stream/types';

const M = 60_000;
const H = 60 * M;
const T0 = Date.UTC(2026, 2, 1, 10, 0, 0);
const ev = (ts: number, extra: Partial<BusEvent> = {}): BusEvent => ({
  v: 1,
  dataset_id: 1,
  type: 'read',
  bytes: 2,
  ts,
  scan: false,
  received_at: ts,
  ...extra,
});

describe('bucket maths', () => {
  test('when a time falls inside a bucket, then its start is the UTC multiple of the bucket size', () => {
    expect(bucketStart(T0 + 90 * M + 5, 'm')).toBe(T0 + 90 * M);
    expect(bucketStart(T0 + 90 * M, 'h')).toBe(T0 + H);
    expect(bucketStart(T0 + 13 * H, 'd')).toBe(Date.UTC(2026, 2, 1));
  });

  test('when buckets of some size are asked for, then the coarsest resolution that tiles them is used', () => {
    expect(resolutionFor(15 * M)).toBe('m');
    expect(resolutionFor(2 * H)).toBe('h');
    expect(resolutionFor(48 * H)).toBe('d');
    expect(resolutionFor(90 * M)).toBe('m');
  });
});

describe("a batch's bucket deltas", () => {
  test('when no minute is rolled up yet, then only minute buckets get the events, summed per dataset and minute, scans apart from user reads', () => {
    const rows = bucketDeltas(
      [
        ev(T0),
        ev(T0 + 1, { type: 'write', scan: true }),
        ev(T0 + M),
        ev(T0 + M + 1, { scan: true }),
        ev(T0, { dataset_id: 2 }),
      ],
      { claimed: T0, rolled: T0 },
    );
    expect(rows).toEqual([
      { dataset_id: 1, res: 'm', bucket_start: T0, reads: 1, writes: 1, scans: 1, bytes: 4, user_reads: 1 },
      { dataset_id: 1, res: 'm', bucket_start: T0 + M, reads: 2, writes: 0, scans: 1, bytes: 4, user_reads: 1 },
      { dataset_id: 2, res: 'm', bucket_start: T0, reads: 1, writes: 0, scans: 0, bytes: 2, user_reads: 1 },
    ]);
  });

  test('when an event is late (its minute already rolled up), then its hour and day get it too', () => {
    const rows = bucketDeltas([ev(T0 + 5 * M), ev(T0 + 2 * H)], { claimed: T0 + H, rolled: T0 + H });
    expect(rows.map((r) => [r.res, r.bucket_start])).toEqual([
      ['m', T0 + 5 * M],
      ['h', T0],
      ['d', Date.UTC(2026, 2, 1)],
      ['m', T0 + 2 * H],
    ]);
  });

  test('when an event is late for a minute the roll-up has claimed but not rolled yet, then only its hour and day get it (the roll-up reads that minute once, as it was when claimed)', () => {
    const rows = bucketDeltas([ev(T0 + 5 * M), ev(T0 + 50 * M), ev(T0 + 2 * H)], {
      claimed: T0 + H,
      rolled: T0 + 30 * M,
    });
    expect(rows.map((r) => [r.res, r.bucket_start])).toEqual([
      ['m', T0 + 5 * M], // rolled already: its minute bucket as well
      ['h', T0],
      ['d', Date.UTC(2026, 2, 1)],
      ['m', T0 + 2 * H], // not claimed: its minute only, the roll-up does the rest
    ]);
    expect(rows.find((r) => r.res === 'h')!.reads).toBe(2);
  });
});
