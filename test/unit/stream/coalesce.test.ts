import { coalesceMs } from '../../../src/stream/coalesce';

describe('the embedded consumer’s wait after a short batch', () => {
  it('when its transaction was quick, then it waits the floor of 10 ms', () => {
    expect(coalesceMs(0)).toBe(10);
    expect(coalesceMs(4)).toBe(10);
  });

  it('when its transaction was slow, then it waits twice as long, so it holds the connection at most a third of the time', () => {
    expect(coalesceMs(12)).toBe(24);
    expect(coalesceMs(25)).toBe(50);
  });

  it('when its transaction was very slow, then the wait stops at 60 ms', () => {
    expect(coalesceMs(45)).toBe(60);
    expect(coalesceMs(5_000)).toBe(60);
  });
});
