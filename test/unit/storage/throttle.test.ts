import { Bandwidth } from '../../../src/storage/throttle';

describe('Bandwidth', () => {
  test('when unlimited, then blocks are the largest asked for and taking never waits', async () => {
    const bw = new Bandwidth(0);
    expect(bw.limited).toBe(false);
    expect(bw.blockSize(4 << 20)).toBe(4 << 20);
    await bw.take(1 << 30);
  });

  test('when limited, then a block is an eighth of a second of budget, at least 64 KiB and at most the largest', () => {
    expect(new Bandwidth(8 << 20).blockSize(4 << 20)).toBe(1 << 20);
    expect(new Bandwidth(100_000).blockSize(4 << 20)).toBe(64 * 1024);
    expect(new Bandwidth(1 << 30).blockSize(4 << 20)).toBe(4 << 20);
  });

  test('when the budget is spent, then the next take waits about as long as the bytes cost', async () => {
    const bw = new Bandwidth(1_000_000);
    await bw.take(1_000_000); // the first second's budget, at once
    const t0 = Date.now();
    await bw.take(200_000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
  });

  test('when the wait is aborted, then take returns at once', async () => {
    const bw = new Bandwidth(1_000);
    await bw.take(1_000);
    const abort = new AbortController();
    abort.abort();
    const t0 = Date.now();
    await bw.take(1_000, abort.signal);
    expect(Date.now() - t0).toBeLessThan(100);
  });
});
