import { aggregate } from '../../../src/analytics/aggregate';
import {
  BURST_GAP_MS,
  addLargeRead,
  mergeLargeReads,
  noLargeReads,
  type LargeReads,
} from '../../../src/analytics/large-reads';
import type { BusEvent } from '../../../src/stream/types';

const H = 3_600_000;
const DAY = 24 * H;
const SIZE = 1_000;
const read = (ts: number, bytes: number, scan = false): BusEvent => ({
  v: 1,
  dataset_id: 1,
  type: 'read',
  bytes,
  ts,
  scan,
  received_at: ts,
});

/** Every event folded one by one, as a replay counts them. */
function oneByOne(events: readonly BusEvent[]): LargeReads {
  const s = noLargeReads();
  for (const e of events) if (e.type === 'read') addLargeRead(s, e.ts, e.bytes, SIZE, e.scan);
  return s;
}

describe('large reads', () => {
  test('when reads touch less than half the size, or are scans, then none is large', () => {
    const s = oneByOne([read(0, 499), read(H, SIZE, true), read(2 * H, 10)]);
    expect(s).toEqual(noLargeReads());
  });

  test('when a weekly job reads the whole size twice within an hour, then each week is one burst', () => {
    const events = [0, 7, 14].flatMap((d) => [read(d * DAY, SIZE), read(d * DAY + H / 2, 600)]);
    const s = oneByOne(events);
    expect(s).toMatchObject({
      large_reads: 6,
      large_bytes: 3 * (SIZE + 600),
      large_bursts: 3,
      large_first: 0,
      large_last: 14 * DAY + H / 2,
    });
    // Two gaps of a week less half an hour, in hours².
    expect(s.large_gap_sq).toBeCloseTo(2 * (7 * 24 - 0.5) ** 2, 6);
  });

  test('when batches are merged in time order, then the counts equal those of one event at a time', () => {
    const events = [0, 0.2, 3, 3.1, 9, 20, 20.3, 31].map((d) => read(d * DAY, SIZE));
    const batches = [events.slice(0, 3), events.slice(3, 4), events.slice(4, 7), events.slice(7)];
    const merged = batches.map(oneByOne).reduce(mergeLargeReads, noLargeReads());
    const exact = oneByOne(events);
    expect(merged.large_reads).toBe(exact.large_reads);
    expect(merged.large_bursts).toBe(exact.large_bursts);
    expect(merged.large_gap_sq).toBeCloseTo(exact.large_gap_sq, 6);
    expect([merged.large_first, merged.large_last]).toEqual([exact.large_first, exact.large_last]);
  });

  test('when a batch arrives late, within a burst already counted, then it joins that burst', () => {
    const later = oneByOne([read(10 * DAY, SIZE)]);
    const late = oneByOne([read(10 * DAY - BURST_GAP_MS / 2, SIZE)]);
    expect(mergeLargeReads(later, late)).toMatchObject({ large_reads: 2, large_bursts: 1, large_gap_sq: 0 });
  });

  test('when a batch is aggregated, then its large reads are those of its events in time order, scans left out', () => {
    const events = [read(7 * DAY, SIZE), read(0, SIZE), read(7 * DAY + H, SIZE, true), read(3 * DAY, 100)];
    const row = aggregate(1, events, SIZE);
    expect(row).toMatchObject({ large_reads: 2, large_bursts: 2, large_first: 0, large_last: 7 * DAY });
    expect(row.large_gap_sq).toBeCloseTo((7 * 24) ** 2, 6);
  });
});
