import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { App } from '../src/app';
import { recover } from '../src/cli/recover';
import { generateMasterKey } from '../src/storage/crypto';
import { API_KEY, startApp, tempDir, waitFor } from './support/harness';
import { binaryBody } from './support/http-client';

/** Issue 18: backups of the database while it runs, and a restore from one. */
const key = { 'x-api-key': API_KEY };
const sha = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');

describe('database backups while running', () => {
  const dir = tempDir('dim-backup-');
  const backupDir = path.join(dir, 'backups');
  const env = {
    DATA_DIR: dir,
    ENCRYPTION_KEY: generateMasterKey(),
    SCHEDULER_ENABLED: 'false',
    STORAGE_CHUNK_SIZE: '65536',
    // Slow enough that the move is still copying when the backup is taken.
    MOVE_BANDWIDTH: '2mb',
    LOG_LEVEL: 'silent',
  };
  const dbFile = path.join(dir, 'data-in-motion.sqlite');

  async function checkAll(h: App['http'], sets: Array<{ id: number; data: Buffer }>): Promise<void> {
    for (const s of sets) {
      const r = await request(h).get(`/api/datasets/${s.id}/content`).buffer(true).parse(binaryBody).expect(200);
      expect(sha(r.body as Buffer)).toBe(sha(s.data));
    }
  }

  test('when a backup is taken with events and a move in flight, then restoring it (stop, copy, recover, start) serves the same downloads', async () => {
    const sets: Array<{ id: number; data: Buffer }> = [];
    let s = await startApp(env);
    let h = s.app.http;
    try {
      for (const [i, size] of [5_000, 3 * 1024 * 1024 + 7, 200_000].entries()) {
        const id = (
          await request(h)
            .post('/api/datasets')
            .set(key)
            .send({ name: `b-${i}` })
            .expect(201)
        ).body.id as number;
        const data = crypto.randomBytes(size);
        await request(h)
          .put(`/api/datasets/${id}/content`)
          .set(key)
          .set('content-type', 'application/octet-stream')
          .send(data)
          .expect(200);
        sets.push({ id, data });
      }
      const m = await request(h)
        .post(`/api/datasets/${sets[1]!.id}/moves`)
        .set(key)
        .send({ tier: 'COLD', location: 'PUBLIC' })
        .expect(202);
      await waitFor(
        async () => (await request(h).get(`/api/migrations/${m.body.id}`)).body.state === 'copying',
        'the move to be copying',
      );
      const events = Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          request(h)
            .post('/api/events')
            .set(key)
            .send({ dataset_id: sets[i % 3]!.id, type: 'read', bytes: 100 })
            .expect(202),
        ),
      );
      const b = await request(h).post('/api/backups').set(key).send({ file: 'under-load.sqlite' }).expect(201);
      await events;
      expect(b.body).toMatchObject({ file: path.join(backupDir, 'under-load.sqlite') });
      expect(b.body.bytes).toBeGreaterThan(0);
      expect((await request(h).get(`/api/migrations/${m.body.id}`)).body.state).not.toBe('done');
      // Bad input is named; an existing backup is never overwritten.
      const bad = await request(h).post('/api/backups').set(key).send({ file: '../escape.sqlite' }).expect(400);
      expect(JSON.stringify(bad.body)).toContain('file');
      await request(h).post('/api/backups').set(key).send({ file: 'under-load.sqlite' }).expect(409);
      // The move finishes after the backup: the restored catalog points at a source that is gone.
      await waitFor(
        async () => (await request(h).get(`/api/migrations/${m.body.id}`)).body.state === 'done',
        'the move to finish',
        30_000,
      );
      expect(fs.readdirSync(backupDir).filter((f) => f.startsWith('.tmp-'))).toEqual([]);
    } finally {
      await s.stop();
    }

    for (const f of ['', '-wal', '-shm']) fs.rmSync(dbFile + f, { force: true });
    fs.copyFileSync(path.join(backupDir, 'under-load.sqlite'), dbFile);
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await recover({ dryRun: false, json: true }, { ...env })).toBe(0);
    } finally {
      write.mockRestore();
    }
    s = await startApp(env);
    h = s.app.http;
    try {
      await checkAll(h, sets);
      const d = (await request(h).get(`/api/datasets/${sets[1]!.id}`).expect(200)).body;
      expect(d).toMatchObject({ tier: 'COLD', location: 'PUBLIC' });
    } finally {
      await s.stop();
    }
  });

  test('when BACKUP_DIR is set, then backups are taken on the timer, the newest BACKUP_KEEP kept, and the last one shows in the API and the metrics', async () => {
    const d2 = tempDir('dim-backup-timer-');
    const into = path.join(d2, 'bk');
    fs.mkdirSync(into);
    fs.writeFileSync(path.join(into, 'by-hand.sqlite'), "kept: not the timer's");
    const s = await startApp({ ...env, DATA_DIR: d2, BACKUP_DIR: into, BACKUP_INTERVAL: '1s', BACKUP_KEEP: '1' });
    const h = s.app.http;
    const scheduled = (): string[] => fs.readdirSync(into).filter((f) => f.startsWith('scheduled-'));
    try {
      const first = await waitFor(() => scheduled()[0], 'a scheduled backup', 15_000);
      await waitFor(
        () => scheduled().length === 1 && scheduled()[0] !== first,
        'a newer one, the older pruned',
        15_000,
      );
      const v = (await request(h).get('/api/backups').set(key).expect(200)).body;
      expect(v).toMatchObject({ dir: into, scheduled: true, last: { trigger: 'timer', ok: true, error: null } });
      expect(fs.existsSync(path.join(into, 'by-hand.sqlite'))).toBe(true);
      const metrics = (await request(h).get('/metrics').set(key)).text;
      expect(metrics).toContain('dim_backup_last{field="ok"} 1');
    } finally {
      await s.stop();
    }
  });
});

describe('backups when the state is on PostgreSQL', () => {
  test('when a backup is asked of an instance on PostgreSQL, then it is refused with 501 pointing at pg_dump, and no file is written', async () => {
    const s = await startApp({ SCHEDULER_ENABLED: 'false' }, undefined, { database: 'postgres' });
    try {
      const r = await request(s.app.http).post('/api/backups').set(key).send({}).expect(501);
      expect(JSON.stringify(r.body)).toMatch(/pg_dump/);
      expect(fs.existsSync(path.join(s.dir, 'backups'))).toBe(false);
    } finally {
      await s.stop();
    }
  });
});
