import { type ChildApp, spawnApp } from './support/child-app';
import { tempDir, waitFor } from './support/harness';
import { kafkaEnv, startMockKafka, type MockKafka } from './support/kafka-env';

describe('unsafe set-ups are refused at start, saying why', () => {
  const apps: ChildApp[] = [];
  const start = async (env: Record<string, string>): Promise<ChildApp> => {
    const app = await spawnApp(env);
    apps.push(app);
    return app;
  };

  afterEach(async () => {
    for (const a of apps.splice(0)) {
      if (a.proc.exitCode === null && a.proc.signalCode === null) a.proc.kill('SIGTERM');
      await a.exited;
    }
  });

  it('when a second instance starts on the same SQLite data directory, then it exits non-zero naming the holder and DATABASE_URL', async () => {
    const dir = tempDir();
    const first = await start({ DATA_DIR: dir, INSTANCE_ID: 'first' });
    const err = await spawnApp({ DATA_DIR: dir, INSTANCE_ID: 'second' }).then(
      (a) => {
        apps.push(a);
        return undefined;
      },
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/the app exited \(1\) before listening/);
    expect(err?.message).toContain(`pid ${first.proc.pid}`);
    expect(err?.message).toContain('first');
    expect(err?.message).toContain('DATABASE_URL');
    expect(err?.message).toContain('DATA_DIR');
    // The first one is untouched.
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
  });

  it('when the instance holding the directory was killed with SIGKILL, then a new one starts there at once', async () => {
    const dir = tempDir();
    const first = await start({ DATA_DIR: dir });
    first.proc.kill('SIGKILL');
    await first.exited;
    const second = await start({ DATA_DIR: dir });
    const ready = (await (await fetch(`${second.url}/readyz`)).json()) as { details: Record<string, unknown> };
    expect(ready.details).toMatchObject({
      instance: expect.any(String),
      tier_scheduler_lease: { held_here: true },
    });
  });

  describe('on Kafka', () => {
    let mock: MockKafka;
    beforeAll(async () => {
      mock = await startMockKafka();
    });
    afterAll(async () => {
      await mock.stop();
    });

    /** Resolves with the exit code, or 'still running' after `ms`. */
    const exitWithin = (app: ChildApp, ms: number): Promise<number | string> => {
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([
        app.exited,
        new Promise<string>((r) => (timer = setTimeout(() => r('still running'), ms))),
      ]).finally(() => clearTimeout(timer));
    };

    const firstHoldsTheGroup = async (env: Record<string, string>): Promise<ChildApp> => {
      const first = await start({ ...env, DATA_DIR: tempDir(), INSTANCE_ID: 'first' });
      await waitFor(() => /kafka.beacon_started/.test(first.output()), 'the first instance beaconing', 30_000);
      await waitFor(() => /kafka.sole_member/.test(first.output()), 'the first to hold the whole topic', 60_000);
      return first;
    };

    it.each([
      ['classic', { KAFKA_GROUP_PROTOCOL: 'classic' }],
      ['consumer (KIP-848)', { KAFKA_GROUP_PROTOCOL: 'consumer' }],
    ])(
      'when a second instance with its own SQLite joins the %s consumer group, then it stops non-zero within seconds saying to use DATABASE_URL, and the first goes on',
      async (_protocol, extra) => {
        const env = kafkaEnv(mock, extra);
        const first = await firstHoldsTheGroup(env);
        const second = await start({ ...env, DATA_DIR: tempDir(), INSTANCE_ID: 'second' });
        const t0 = Date.now();
        // Before the beacon, the refusal waited for the assignment: 2 x session timeout + 15 s (105 s by default).
        expect(await exitWithin(second, 15_000)).toBe(1);
        const seconds = (Date.now() - t0) / 1000;
        process.stdout.write(`group refusal (${_protocol}) after ${seconds.toFixed(1)} s\n`);
        expect(second.output()).toContain('consumer group');
        expect(second.output()).toContain('instance first');
        expect(second.output()).toContain('DATABASE_URL');
        expect(first.proc.exitCode).toBeNull();
        expect(first.output()).not.toContain('kafka.group_not_sole_member');
        expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
      },
      120_000,
    );

    it('when the lone member is killed and restarted on its directory in the same group, then it is not refused', async () => {
      // The killed member stays in the group until its session times out; it says nothing meanwhile.
      const env = kafkaEnv(mock, {
        KAFKA_GROUP_PROTOCOL: 'classic',
        KAFKA_EXTRA_CONFIG: 'topic.metadata.refresh.interval.ms=500,session.timeout.ms=6000',
      });
      const dir = tempDir();
      const first = await start({ ...env, DATA_DIR: dir });
      await waitFor(() => /kafka.beacon_started/.test(first.output()), 'the first instance beaconing', 30_000);
      first.proc.kill('SIGKILL');
      await first.exited;
      const again = await start({ ...env, DATA_DIR: dir });
      await waitFor(() => /kafka.beacon_started/.test(again.output()), 'the restarted instance beaconing', 30_000);
      // It takes the whole topic once the dead member's session is over, and is never refused.
      await waitFor(
        () => /kafka.sole_member/.test(again.output()),
        'the restarted one to hold the whole topic',
        60_000,
      );
      expect(again.proc.exitCode).toBeNull();
      expect(again.output()).not.toContain('kafka.group_not_sole_member');
    }, 120_000);

    it('when a member stops cleanly and a new one takes its place at once, then the new one is not refused', async () => {
      // KIP-848: the group hands the leaver's partitions over at once (the mock's classic rejoin takes ~44 s).
      const env = kafkaEnv(mock, { KAFKA_GROUP_PROTOCOL: 'consumer' });
      const first = await firstHoldsTheGroup(env);
      first.proc.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      const next = await start({ ...env, DATA_DIR: tempDir() });
      await waitFor(() => /kafka.sole_member/.test(next.output()), 'the new one to hold the whole topic', 60_000);
      // The stopped member's last beacon, if any, is one: over several beacon intervals nothing refuses the new one.
      expect(await exitWithin(next, 5_000)).toBe('still running');
      expect(next.output()).not.toContain('kafka.group_not_sole_member');
    }, 120_000);
  });
});
