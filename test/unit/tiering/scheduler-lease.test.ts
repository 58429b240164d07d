import { createLogger, systemClock } from '../../../src/platform';
import { TierScheduler, type TieringService } from '../../../src/tiering';

/** Only what a refused run touches: nothing of tiering is reached. */
const tiering = {
  settings: { enabled: false, intervalMs: 60_000 },
  refresh: () => Promise.reject(new Error('a refused run must not reach tiering')),
} as unknown as TieringService;

describe('the scheduler under its lease', () => {
  test('when another instance holds the lease, then a run on demand is refused with 409 naming the holder', async () => {
    let asked = 0;
    const scheduler = new TierScheduler({
      tiering,
      moves: {
        enqueue: () => Promise.reject(new Error('not reached')),
        enqueueBatch: () => Promise.resolve(new Map()),
      },
      clock: systemClock,
      logger: createLogger('silent'),
      leadership: {
        acquire: () => {
          asked++;
          return Promise.resolve(false);
        },
        confirm: () => Promise.resolve(false),
        holder: () => Promise.resolve('node-b'),
        fence: () => Promise.reject(new Error('not reached')),
      },
    });
    await expect(scheduler.run('api')).rejects.toMatchObject({
      status: 409,
      message: expect.stringContaining('node-b') as string,
      extra: { holder: 'node-b' },
    });
    expect(asked).toBe(1);
    expect(await scheduler.leader()).toBe('node-b');
  });
});
