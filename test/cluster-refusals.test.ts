import { type ChildApp, spawnApp } from './support/child-app';
import { tempDir } from './support/harness';

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
});
