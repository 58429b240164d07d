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

    it('when a second instance with its own SQLite joins the consumer group, then it stops non-zero saying to use DATABASE_URL, and the first goes on', async () => {
      // The classic protocol with a short session timeout: the refusal comes after 2 x 3 s + 15 s.
      const env = kafkaEnv(mock, {
        KAFKA_GROUP_PROTOCOL: 'classic',
        KAFKA_EXTRA_CONFIG: 'topic.metadata.refresh.interval.ms=500,session.timeout.ms=3000',
      });
      const first = await start({ ...env, DATA_DIR: tempDir() });
      await waitFor(
        async () => (await fetch(`${first.url}/readyz`)).status === 200,
        'the first instance ready',
        30_000,
      );
      await waitFor(
        () => /kafka.sole_member/.test(first.output()),
        'the first consumer to hold the whole topic',
        30_000,
      );
      const second = await start({ ...env, DATA_DIR: tempDir() });
      expect(
        await Promise.race([second.exited, new Promise((r) => setTimeout(() => r('still running'), 60_000))]),
      ).toBe(1);
      expect(second.output()).toContain('consumer group');
      expect(second.output()).toContain('DATABASE_URL');
      expect(first.proc.exitCode).toBeNull();
      expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    }, 120_000);
  });
});
