import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { generateMasterKey, readObjectHeader } from '../src/storage/crypto';
import { spawnApp, type ChildApp } from './support/child-app';
import { downgradeToVersion1, expectDownloads, uploadSets } from './support/content-fixture';
import { API_KEY, startApp, tempDir, waitFor } from './support/harness';
import { call } from './support/http-client';

/** Issue 18: objects written before format version 2 get their label by a rewrite. */
const key = { 'x-api-key': API_KEY };

test('when objects are still in format version 1, then keys rewrite-headers rewrites them with their label, once, and they download the same', async () => {
  const master = generateMasterKey();
  const dir = tempDir('dim-rewrite-');
  const s = await startApp({ DATA_DIR: dir, ENCRYPTION_KEY: master, SCHEDULER_ENABLED: 'false' });
  const h = s.app.http;
  try {
    const sets = await uploadSets(h, [10, 3 * 1024 * 1024 + 1], 'old');
    // Turn the first into what an older version wrote: the same content and key, format version 1.
    const oldFile = await downgradeToVersion1(s.app, dir, master, sets[0]!);
    expect((await readObjectHeader(oldFile)).version).toBe(1);

    const r = (await request(h).post('/api/keys/rewrite-headers').set(key).expect(200)).body;
    expect(r).toEqual({ rewritten: 1, current: 1, left: [] });
    expect(fs.existsSync(oldFile)).toBe(false);
    const again = (await request(h).post('/api/keys/rewrite-headers').set(key).expect(200)).body;
    expect(again).toEqual({ rewritten: 0, current: 2, left: [] });
    await expectDownloads(h, sets);
    const now = await s.app.database.db
      .selectFrom('datasets')
      .select(['object_id', 'location', 'tier'])
      .where('id', '=', sets[0]!.id)
      .executeTakeFirstOrThrow();
    const header = await readObjectHeader(path.join(dir, 'tiers', now.location, now.tier, `${now.object_id}.enc`));
    expect(header.version).toBe(2);
  } finally {
    await s.stop();
  }
});

/** Whether any temporary file (an object being written) is in the tier tree. */
function tmpInTree(dir: string): boolean {
  const root = path.join(dir, 'tiers');
  return fs.readdirSync(root, { recursive: true, encoding: 'utf8' }).some((f) => path.basename(f).startsWith('.tmp-'));
}

test('when the header rewrite is SIGKILLed mid-copy, after the rename and after the switch, then every object stays valid, and a later run finishes it', async () => {
  const master = generateMasterKey();
  const dir = tempDir('dim-rewrite-kill-');
  // Paced (SCRUB_BANDWIDTH) so that the copy of the large object takes seconds: a kill lands in it.
  const env = { DATA_DIR: dir, ENCRYPTION_KEY: master, SCHEDULER_ENABLED: 'false', SCRUB_BANDWIDTH: '256kb' };
  const s = await startApp(env);
  const sets = await uploadSets(s.app.http, [10, 1024 * 1024 + 3], 'v1');
  try {
    for (const set of sets) await downgradeToVersion1(s.app, dir, master, set);
  } finally {
    await s.stop();
  }
  let app: ChildApp | undefined;
  const ready = async (a: ChildApp): Promise<void> =>
    void (await waitFor(async () => (await call(a.url, 'GET', '/readyz')).status === 200, 'readiness', 60_000, 100));
  try {
    for (const point of ['mid-copy', 'upload.after_rename', 'upload.after_switch']) {
      app = await spawnApp({ ...env, LOG_LEVEL: 'info', ...(point === 'mid-copy' ? {} : { DIM_FAULT_PAUSE: point }) });
      const a = app;
      await ready(a);
      void call(a.url, 'POST', '/api/keys/rewrite-headers').catch(() => undefined);
      if (point === 'mid-copy') await waitFor(() => tmpInTree(dir), 'a rewrite copy in progress', 30_000, 5);
      else await waitFor(() => a.output().includes('"fault.paused"'), `the rewrite at ${point}`, 30_000, 20);
      a.proc.kill('SIGKILL');
      expect(await a.exited).toBe('SIGKILL');

      // Restarted: what the crash left is cleaned up, and every object downloads as it was.
      app = await spawnApp({ ...env, LOG_LEVEL: 'info', SCRUB_BANDWIDTH: '0' });
      await ready(app);
      await expectDownloads(app.url, sets);
      expect(tmpInTree(dir)).toBe(false);
      app.proc.kill('SIGTERM');
      expect(await app.exited).toBe(0);
    }
    app = await spawnApp({ ...env, SCRUB_BANDWIDTH: '0' });
    await ready(app);
    const r = await call(app.url, 'POST', '/api/keys/rewrite-headers');
    expect(r.status).toBe(200);
    expect(r.body.left).toEqual([]);
    expect(r.body.rewritten + r.body.current).toBe(sets.length);
    await expectDownloads(app.url, sets);
    const versions = await Promise.all(
      fs
        .readdirSync(path.join(dir, 'tiers'), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.enc'))
        .map(async (f) => (await readObjectHeader(path.join(dir, 'tiers', f))).version),
    );
    expect(versions).toEqual(sets.map(() => 2));
    app.proc.kill('SIGTERM');
    expect(await app.exited).toBe(0);
    app = undefined;
  } finally {
    if (app && app.proc.exitCode === null) app.proc.kill('SIGKILL');
  }
});
