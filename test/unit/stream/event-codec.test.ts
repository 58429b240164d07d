import { decodeEvent, encodeEvent } from '../../../src/stream/event-codec';
import type { BusEvent } from '../../../src/stream/types';

const base: BusEvent = { v: 1, dataset_id: 3, type: 'write', bytes: 10, ts: 5, scan: true, received_at: 6 };

describe('the event codec', () => {
  test('when an event is encoded and decoded, then it comes back equal, id included', () => {
    expect(decodeEvent(encodeEvent(base))).toEqual({ ok: true, event: base });
    const withId = { ...base, id: 'k1' };
    expect(decodeEvent(encodeEvent(withId))).toEqual({ ok: true, event: withId });
  });

  test('when an event is encoded by hand, then it is the JSON that JSON.stringify gives, escapes included', () => {
    for (const e of [base, { ...base, id: 'k1' }, { ...base, id: 'quote " back\\ slash \n line \u2028 é' }]) {
      expect(JSON.parse(encodeEvent(e))).toEqual(JSON.parse(JSON.stringify(e)));
      expect(encodeEvent(e)).toBe(JSON.stringify(e));
    }
  });

  test('when received_at is missing, then the event time stands for it', () => {
    const { received_at: _omit, ...rest } = base;
    expect(decodeEvent(JSON.stringify(rest))).toEqual({ ok: true, event: { ...base, received_at: 5 } });
  });

  test.each([
    ['not json', /^invalid JSON/],
    ['[1]', /^not a JSON object$/],
    [JSON.stringify({ ...base, v: 2 }), /^unsupported event version 2$/],
    [JSON.stringify({ ...base, dataset_id: 0 }), /^dataset_id:/],
    [JSON.stringify({ ...base, type: 'delete' }), /^type: not one of read, write$/],
    [JSON.stringify({ ...base, bytes: -1 }), /^bytes:/],
    [JSON.stringify({ ...base, ts: 1.5 }), /^ts:/],
    [JSON.stringify({ ...base, scan: 'yes' }), /^scan:/],
    [JSON.stringify({ ...base, id: '' }), /^id:/],
  ])('when the record is %s, then it is refused saying why', (value, reason) => {
    const d = decodeEvent(value);
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.reason).toMatch(reason);
  });
});
