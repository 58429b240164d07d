import { SummaryCache, TtlMemo } from '../../../src/web/pages/summary-cache';

describe('the overview summary cache', () => {
  function setup() {
    const state = { fingerprint: 'a', version: 1, now: 0, computed: 0, fail: false };
    const cache = new SummaryCache({
      repo: { changeFingerprint: async () => state.fingerprint },
      compute: async () => {
        state.computed++;
        if (state.fail) throw new Error('db busy');
        return state.computed;
      },
      catalogVersion: () => state.version,
      ttlMs: 30_000,
      now: () => state.now,
    });
    return { state, cache };
  }

  test('when nothing changed, then polls are served without computing again', async () => {
    const { state, cache } = setup();
    expect(await cache.get()).toBe(1);
    state.now = 29_000;
    expect(await cache.get()).toBe(1);
    expect(state.computed).toBe(1);
  });

  test('when the fingerprint or the catalog version changes, or the TTL passes, then it computes again', async () => {
    const { state, cache } = setup();
    await cache.get();
    state.fingerprint = 'b';
    expect(await cache.get()).toBe(2);
    state.version = 2;
    expect(await cache.get()).toBe(3);
    state.now = 30_000;
    expect(await cache.get()).toBe(4);
  });

  test('when a computation fails, then it is not kept', async () => {
    const { state, cache } = setup();
    state.fail = true;
    await expect(cache.get()).rejects.toThrow('db busy');
    state.fail = false;
    expect(await cache.get()).toBe(2);
  });

  test('when a memo is asked within its TTL, then it computes once', async () => {
    let now = 0;
    let n = 0;
    const memo = new TtlMemo(
      async () => ++n,
      5_000,
      () => now,
    );
    expect(await Promise.all([memo.get(), memo.get()])).toEqual([1, 1]);
    now = 4_999;
    expect(await memo.get()).toBe(1);
    now = 5_000;
    expect(await memo.get()).toBe(2);
  });
});
