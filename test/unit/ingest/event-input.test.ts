import { parseIncomingEvent, parseNdjson } from '../../../src/ingest/event-input';
import { ValidationError } from '../../../src/platform';

const NOW = Date.UTC(2026, 5, 1, 12);
const rules = { now: NOW, maxFutureSkewMs: 5 * 60_000 };

function failure(raw: unknown, r = rules): { field?: string; message: string } {
  try {
    parseIncomingEvent(raw, 3, r);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return { field: (err as ValidationError & { field?: string }).field, message: (err as Error).message };
  }
  throw new Error('expected a validation error');
}

describe('an incoming event', () => {
  test('when it names a dataset by id or by name, then it is kept as given, stamped now unless it says when', () => {
    expect(parseIncomingEvent({ dataset_id: 7, type: 'read', bytes: 10 }, 0, rules)).toEqual({
      index: 0,
      dataset_id: 7,
      type: 'read',
      bytes: 10,
      ts: NOW,
      scan: false,
    });
    expect(
      parseIncomingEvent({ dataset: 'sales', type: 'WRITE', ts: '2026-06-01T11:00:00Z', id: 'e1' }, 1, rules),
    ).toEqual({
      index: 1,
      dataset: 'sales',
      type: 'write',
      bytes: 0,
      ts: Date.UTC(2026, 5, 1, 11),
      scan: false,
      id: 'e1',
    });
  });

  test("when the original demo's access_type is used, then it counts as the type; missing, only its own route defaults it", () => {
    expect(parseIncomingEvent({ dataset_id: 1, access_type: 'write' }, 0, rules).type).toBe('write');
    expect(parseIncomingEvent({ dataset_id: 1 }, 0, { ...rules, defaultType: 'read' }).type).toBe('read');
    expect(failure({ dataset_id: 1 }).message).toMatch(/type/);
  });

  test('when a field is wrong, then the error names it (and the item)', () => {
    expect(failure({ dataset_id: 1, dataset: 'x', type: 'read' }).message).toMatch(/dataset/);
    expect(failure({ type: 'read' }).message).toMatch(/dataset_id/);
    expect(failure({ dataset_id: 1, type: 'delete' }).message).toMatch(/type/);
    expect(failure({ dataset_id: 1, type: 'read', bytes: -1 }).message).toMatch(/bytes/);
    expect(failure({ dataset_id: 1, type: 'read', color: 'red' }).message).toMatch(/color/);
  });

  test('when ts looks like seconds, lacks a zone or is far in the future, then it is refused saying why', () => {
    expect(failure({ dataset_id: 1, type: 'read', ts: 1_750_000_000 }).message).toMatch(/seconds\? multiply by 1000/);
    expect(failure({ dataset_id: 1, type: 'read', ts: '2026-06-01T11:00:00' }).message).toMatch(/with a zone/);
    expect(failure({ dataset_id: 1, type: 'read', ts: NOW + 10 * 60_000 }).message).toMatch(/in the future/);
    expect(parseIncomingEvent({ dataset_id: 1, type: 'read', ts: NOW + 60_000 }, 0, rules).ts).toBe(NOW + 60_000);
  });
});

describe('an NDJSON body', () => {
  test('when lines are blank, then they are skipped; when one is not JSON, then the error gives its line', () => {
    expect(parseNdjson('{"a":1}\n\n  \n{"b":2}\n')).toEqual([{ a: 1 }, { b: 2 }]);
    expect(() => parseNdjson('{"a":1}\n{oops}\n')).toThrow(/line 2 is not valid JSON/);
  });
});
