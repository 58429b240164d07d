import { decodeAll, eventIdsOf, pastStoredOffsets, withoutSeenIds } from '../../../src/stream/dedup';
import type { BusEvent, BusMessage } from '../../../src/stream/types';

const event = (extra: Partial<BusEvent> = {}): BusEvent => ({
  v: 1,
  dataset_id: 1,
  type: 'read',
  bytes: 1,
  ts: 1_000,
  scan: false,
  received_at: 1_000,
  ...extra,
});
const msg = (partition: number, offset: number, value: unknown = event(), topic = 't'): BusMessage => ({
  topic,
  partition,
  offset,
  value: typeof value === 'string' ? value : JSON.stringify(value),
});

describe('skipping what an earlier delivery applied', () => {
  test('when messages sit below their partition’s stored offset, then they are replays and the rest are fresh', () => {
    const stored = new Map([['t', new Map([[0, 5]])]]);
    const r = pastStoredOffsets([msg(0, 4), msg(0, 5), msg(1, 0), msg(0, 7)], stored);
    expect(r.fresh.map((m) => [m.partition, m.offset])).toEqual([
      [0, 5],
      [1, 0],
      [0, 7],
    ]);
    expect(r.replayed).toBe(1);
    expect(r.next).toEqual(
      new Map([
        [
          't',
          new Map([
            [0, 8],
            [1, 1],
          ]),
        ],
      ]),
    );
  });

  test('when a batch spans two topics, then each topic keeps its own offsets', () => {
    const stored = new Map([['a', new Map([[0, 3]])]]);
    const r = pastStoredOffsets([msg(0, 2, event(), 'a'), msg(0, 2, event(), 'b')], stored);
    expect(r.fresh.map((m) => m.topic)).toEqual(['b']);
    expect(r.next).toEqual(new Map([['b', new Map([[0, 3]])]]));
  });

  test('when every message is a replay, then there is nothing to store', () => {
    const r = pastStoredOffsets([msg(0, 0)], new Map([['t', new Map([[0, 1]])]]));
    expect(r).toEqual({ fresh: [], replayed: 1, next: new Map(), gaps: [] });
  });
});

describe('finding stretches of the log that were gone', () => {
  test('when the first fresh offset of a partition is past its stored offset, then the range between is lost', () => {
    const r = pastStoredOffsets(
      [msg(0, 9), msg(0, 10), msg(1, 3)],
      new Map([
        [
          't',
          new Map([
            [0, 4],
            [1, 3],
          ]),
        ],
      ]),
    );
    expect(r.gaps).toEqual([{ topic: 't', partition: 0, from_offset: 4, to_offset: 9 }]);
  });

  test('when a batch has a hole inside a partition, then the hole is lost, even out of order', () => {
    const r = pastStoredOffsets([msg(2, 7), msg(2, 5), msg(2, 8)], new Map());
    expect(r.gaps).toEqual([{ topic: 't', partition: 2, from_offset: 6, to_offset: 7 }]);
  });

  test('when a partition has no stored offset, then nothing before its first message counts as lost', () => {
    expect(pastStoredOffsets([msg(0, 500)], new Map()).gaps).toEqual([]);
  });
});

describe('decoding a batch', () => {
  test('when some messages do not parse, then they are refused with the reason and the others decoded', () => {
    const r = decodeAll([msg(0, 0), msg(0, 1, '{nope'), msg(0, 2, { ...event(), v: 2 })]);
    expect(r.decoded.map((d) => d.msg.offset)).toEqual([0]);
    expect(r.refused.map((d) => [d.msg.offset, d.reason])).toEqual([
      [1, expect.stringMatching(/^invalid JSON/)],
      [2, 'unsupported event version 2'],
    ]);
  });
});

describe('dropping repeated event ids', () => {
  const decoded = (ids: Array<string | undefined>) =>
    ids.map((id, i) => {
      const e = event(id === undefined ? {} : { id });
      return { msg: msg(0, i, e), event: e };
    });

  test('when an id was seen before or earlier in the batch, then only its first new occurrence stays', () => {
    const batch = decoded(['a', 'b', undefined, 'b', 'c', undefined]);
    const r = withoutSeenIds(batch, new Set(['a']));
    expect(r.unique.map((d) => d.event.id ?? '-')).toEqual(['b', '-', 'c', '-']);
    expect(r.repeated).toBe(2);
  });

  test('when a batch is listed for the id lookup, then each id appears once and events without one are left out', () => {
    expect(eventIdsOf(decoded(['x', undefined, 'x', 'y']))).toEqual(['x', 'y']);
  });
});
