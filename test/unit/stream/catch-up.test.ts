import { CatchUp, type Watermarks, cappedAt, unapplied } from '../../../src/stream/catch-up';

const marks = (...m: Array<[number, number, number]>) =>
  new Map<number, Watermarks>(m.map(([p, low, high]) => [p, { low, high }]));

describe('what the database has not applied yet', () => {
  test('when partitions are behind, then every partition counts, held by this process or not', () => {
    expect(
      unapplied(
        marks([0, 0, 10], [1, 0, 5], [2, 0, 7]),
        new Map([
          [0, 10],
          [1, 2],
        ]),
      ),
    ).toBe(3 + 7);
  });

  test('when the log starts past the applied offset, then what is gone is not counted as pending', () => {
    expect(unapplied(marks([0, 100, 120]), new Map([[0, 40]]))).toBe(20);
  });

  test('when the watermarks are capped at the start, then events appended later are not counted', () => {
    expect(unapplied(cappedAt(marks([0, 0, 50], [1, 0, 9]), new Map([[0, 30]])), new Map([[0, 10]]))).toBe(20);
  });
});

describe('catching up after a start', () => {
  test('when events acknowledged before the start are pending, then the consumer check says how many until they are applied', async () => {
    let high = 100;
    const applied = new Map([[0, 60]]);
    const c = new CatchUp({
      topic: 't',
      offsets: { nextOffsets: async () => applied },
      watermarks: async () => marks([0, 0, high]),
    });
    await c.begin();
    high = 500; // later traffic does not hold readiness back
    const ok = { bus: 'ok', consumer: 'ok' };
    expect(await c.health(ok)).toEqual({ bus: 'ok', consumer: 'catching up, 40 acknowledged events pending' });
    expect(await c.health({ bus: 'down', consumer: 'consumer not running' })).toEqual({
      bus: 'down',
      consumer: 'consumer not running',
    });
    applied.set(0, 100);
    expect(await c.health(ok)).toEqual(ok);
    applied.set(0, 0); // once caught up, it stays so
    expect(await c.pending()).toBe(0);
  });

  test('when the watermarks cannot be known, then the consumer is not called ready', async () => {
    const c = new CatchUp({
      topic: 't',
      offsets: { nextOffsets: async () => new Map() },
      watermarks: async () => undefined,
    });
    expect((await c.health({ bus: 'ok', consumer: 'ok' })).consumer).toMatch(/^catching up: /);
  });
});
