import { ServiceList, oneAtATime, serviceOf, type Service, createLogger } from '../../../src/platform';

const silent = createLogger('silent');

function recorder(log: string[], name: string, opts: { failStart?: boolean; failStop?: boolean } = {}): Service {
  return serviceOf(name, {
    start: async () => {
      if (opts.failStart) throw new Error(`${name} cannot start`);
      log.push(`start ${name}`);
    },
    stop: async () => {
      log.push(`stop ${name}`);
      if (opts.failStop) throw new Error(`${name} cannot stop`);
    },
    health: () => ({ [name]: 'ok' }),
  });
}

describe('ServiceList', () => {
  test('when started and stopped, then it starts in order and stops in reverse', async () => {
    const log: string[] = [];
    const list = new ServiceList(silent).add(recorder(log, 'a'), recorder(log, 'b'), recorder(log, 'c'));
    await list.start();
    await list.stop();
    expect(log).toEqual(['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
  });

  test('when services are added after a start, then the next start starts only the new ones', async () => {
    const log: string[] = [];
    const list = new ServiceList(silent).add(recorder(log, 'db'));
    await list.start();
    list.add(recorder(log, 'http'));
    await list.start();
    expect(log).toEqual(['start db', 'start http']);
  });

  test('when one fails to start, then start throws and stop stops only those started', async () => {
    const log: string[] = [];
    const list = new ServiceList(silent).add(
      recorder(log, 'a'),
      recorder(log, 'b', { failStart: true }),
      recorder(log, 'c'),
    );
    await expect(list.start()).rejects.toThrow('b cannot start');
    await list.stop();
    expect(log).toEqual(['start a', 'stop a']);
  });

  test('when one fails to stop, then the others are still stopped, and a second stop does nothing', async () => {
    const log: string[] = [];
    const list = new ServiceList(silent).add(
      recorder(log, 'a'),
      recorder(log, 'b', { failStop: true }),
      recorder(log, 'c'),
    );
    await list.start();
    await list.stop();
    await list.stop();
    expect(log).toEqual(['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
  });

  test('when a health check throws, then its service reports the error and the others still answer', async () => {
    const broken: Service = { ...serviceOf('bus', {}), health: () => Promise.reject(new Error('broker gone')) };
    const list = new ServiceList(silent).add(recorder([], 'db'), broken);
    expect(await list.health()).toEqual({ db: 'ok', bus: 'broker gone' });
  });
});

describe('oneAtATime', () => {
  test('when called while a call runs, then it joins that call instead of starting another', async () => {
    let calls = 0;
    let release!: () => void;
    const run = oneAtATime(async (x: number) => {
      calls++;
      await new Promise<void>((r) => (release = r));
      return x * 2;
    });
    const first = run(1);
    const second = run(5);
    expect(run.running).toBe(true);
    release();
    expect(await first).toBe(2);
    expect(await second).toBe(2);
    expect(calls).toBe(1);
    expect(run.running).toBe(false);
    const third = run(3);
    release();
    expect(await third).toBe(6);
    expect(calls).toBe(2);
  });

  test('when the running call fails, then idle() still resolves and the next call runs afresh', async () => {
    let fail = true;
    const run = oneAtATime(async () => {
      if (fail) throw new Error('boom');
      return 'ok';
    });
    const p = run();
    await run.idle();
    await expect(p).rejects.toThrow('boom');
    fail = false;
    expect(await run()).toBe('ok');
  });
});
