import { StatsMaintenance } from '../../../src/analytics/maintenance';
import { ManualClock, createLogger } from '../../../src/platform';

const DAY = 86_400_000;

function fakes() {
  const calls: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const stats = {
    rollUp: async (until: number) => {
      calls.push(`rollUp ${until}`);
      await gate;
      return 0;
    },
    pruneBuckets: async (res: string) => {
      calls.push(`prune ${res}`);
      return 0;
    },
  };
  const eventIds = {
    prune: async (before: number) => {
      calls.push(`eventIds ${before}`);
      return 0;
    },
  };
  return { calls, release, stats, eventIds };
}

describe('statistics maintenance', () => {
  const options = {
    buckets: { m: DAY, h: 10 * DAY, d: 100 * DAY },
    idempotencyWindowMs: 2 * DAY,
    intervalMs: 60_000,
    rollupIntervalMs: 10_000,
  };

  test('when a run is asked for while one is going, then it joins that run instead of starting another', async () => {
    const f = fakes();
    const clock = new ManualClock(100 * DAY + 90_000);
    const m = new StatsMaintenance({ ...f, clock, logger: createLogger('silent'), options });
    const a = m.runOnce();
    const b = m.runOnce();
    expect(b).toBe(a);
    expect(m.runOnce.running).toBe(true);
    f.release();
    await Promise.all([a, b]);
    expect(f.calls).toEqual([
      `rollUp ${100 * DAY + 60_000}`,
      'prune m',
      'prune h',
      'prune d',
      `eventIds ${98 * DAY + 90_000}`,
    ]);
  });

  test('when it stops during a run, then stop waits for the run to finish', async () => {
    const f = fakes();
    const m = new StatsMaintenance({ ...f, clock: new ManualClock(DAY), logger: createLogger('silent'), options });
    await m.start();
    const run = m.runOnce();
    let stopped = false;
    const stopping = m.stop().then(() => (stopped = true));
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    f.release();
    await Promise.all([run, stopping]);
    expect(stopped).toBe(true);
  });
});
