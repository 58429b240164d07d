import { parseRange } from '../../../src/storage/range';

describe('parseRange', () => {
  test('when there is no header, then the whole body is served', () => {
    expect(parseRange(undefined, 100)).toBeUndefined();
  });
  test('when a range is closed, then exactly it is served, its end clamped to the last byte', () => {
    expect(parseRange('bytes=10-19', 100)).toEqual({ start: 10, end: 19 });
    expect(parseRange('bytes=90-500', 100)).toEqual({ start: 90, end: 99 });
  });
  test('when a range is open-ended, then it runs to the last byte', () => {
    expect(parseRange('bytes=95-', 100)).toEqual({ start: 95, end: 99 });
  });
  test('when a suffix is asked for, then the last bytes are served, at most the whole body', () => {
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-500', 100)).toEqual({ start: 0, end: 99 });
  });
  test('when the range starts past the end, is reversed, is an empty suffix or the body is empty, then it is unsatisfiable', () => {
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=20-10', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-', 0)).toBe('unsatisfiable');
  });
  test('when the header is several ranges, another unit or empty, then the whole body is served', () => {
    expect(parseRange('bytes=0-1,5-6', 100)).toBeUndefined();
    expect(parseRange('items=0-1', 100)).toBeUndefined();
    expect(parseRange('bytes=-', 100)).toBeUndefined();
  });
});
