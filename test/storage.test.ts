import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { App } from '../src/app';
import { parseConfig } from '../src/config';
import { API_KEY, DATABASES, databaseEnvFor, startApp, tempDir, waitFor } from './support/harness';
import { binaryBody } from './support/http-client';

const key = { 'x-api-key': API_KEY };
const CHUNK = 4096;
const sha = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');

/** Every file under DATA_DIR/tiers, relative. */
function treeFiles(dir: string): string[] {
  const root = path.join(dir, 'tiers');
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}

describe.each(DATABASES)('on %s', (database) => {
  describe('dataset content and moves', () => {
    let s: Awaited<ReturnType<typeof startApp>>;
    let http: App['http'];
    let n = 0;

    beforeAll(async () => {
      s = await startApp({ STORAGE_CHUNK_SIZE: String(CHUNK), MOVE_BANDWIDTH: '0' }, undefined, { database });
      http = s.app.http;
    });
    afterAll(async () => {
      await s?.stop();
    });

    async function dataset(extra: Record<string, unknown> = {}): Promise<number> {
      return (
        await request(http)
          .post('/api/datasets')
          .set(key)
          .send({ name: `ds-${++n}`, ...extra })
          .expect(201)
      ).body.id as number;
    }
    async function upload(id: number, body: Buffer): Promise<request.Response> {
      return request(http)
        .put(`/api/datasets/${id}/content`)
        .set(key)
        .set('content-type', 'application/octet-stream')
        .send(body)
        .expect(200);
    }
    function download(id: number, headers: Record<string, string> = {}): request.Test {
      return request(http).get(`/api/datasets/${id}/content`).set(headers).buffer(true).parse(binaryBody);
    }
    async function moveAndWait(id: number, body: Record<string, unknown>): Promise<Record<string, any>> {
      const m = await request(http).post(`/api/datasets/${id}/moves`).set(key).send(body).expect(202);
      return waitFor(async () => {
        const r = (await request(http).get(`/api/migrations/${m.body.id}`).expect(200)).body;
        return ['done', 'failed', 'cancelled'].includes(r.state) ? r : undefined;
      }, `move ${m.body.id} to finish`);
    }

    // Round trips at the chunk edges and ranges: s3.storage.test.ts runs them on the file and S3 stores.

    test('when content is downloaded, then the download counts as a read of its bytes', async () => {
      const id = await dataset();
      await upload(id, crypto.randomBytes(10_000));
      await download(id).expect(200);
      await download(id, { range: 'bytes=0-99' }).expect(206);
      const stats = await waitFor(async () => {
        const b = (await request(http).get(`/api/datasets/${id}/stats`)).body;
        return b.reads === 2 ? b : undefined;
      }, 'two reads');
      expect(stats.bytes_read).toBe(10_100);
    });

    test("when content is uploaded, then the upload counts as the dataset's write, once, and watches it from its birth", async () => {
      const created = await request(http)
        .post('/api/datasets')
        .set(key)
        .field('name', `born-${++n}`)
        .attach('file', crypto.randomBytes(5_000), 'x.bin')
        .expect(201);
      const id = created.body.id as number;
      const stats = (): Promise<Record<string, any>> =>
        request(http)
          .get(`/api/datasets/${id}/stats`)
          .expect(200)
          .then((r) => r.body as Record<string, any>);
      const born = await waitFor(async () => ((await stats()).writes === 1 ? stats() : undefined), 'the write');
      expect(born).toMatchObject({ writes: 1, reads: 0, bytes_written: 5_000 });
      // Its first access is its creation: the tiering's "born watched" rule (within the hour).
      expect(Date.parse(born.first_access as string) - Date.parse(created.body.created_at as string)).toBeLessThan(
        3_600_000,
      );

      const replaced = await upload(id, crypto.randomBytes(7_000));
      expect(replaced.body.uploaded.event_id).toMatch(/^upload:/);
      // The client reports the same write under the upload's id: counted once. The read after it
      // arrives in order on the bus, so once it is counted the repeat has been seen.
      await request(http)
        .post('/api/events')
        .set(key)
        .send([
          { id: replaced.body.uploaded.event_id, dataset_id: id, type: 'write', bytes: 7_000 },
          { dataset_id: id, type: 'read', bytes: 1 },
        ])
        .expect(202);
      const after = await waitFor(async () => {
        const b = await stats();
        return b.reads === 1 ? b : undefined;
      }, 'the read');
      expect(after).toMatchObject({ writes: 2, bytes_written: 12_000 });
    });

    test('when a dataset has no content, then it is catalog-only and a move changes its record only', async () => {
      const id = await dataset({ size_gb: 250 });
      const d = (await request(http).get(`/api/datasets/${id}`).expect(200)).body;
      expect(d).toMatchObject({ catalog_only: true, content: null, location_uri: null, size_gb: 250 });
      const dl = await request(http).get(`/api/datasets/${id}/content`).expect(404);
      expect(dl.body.detail).toMatch(/catalog-only/);
      const before = treeFiles(s.dir);
      const m = await moveAndWait(id, { tier: 'COLD', location: 'PUBLIC' });
      expect(m).toMatchObject({ state: 'done', catalog_only: true });
      expect((await request(http).get(`/api/datasets/${id}`)).body).toMatchObject({
        current_tier: 'COLD',
        storage_type: 'PUBLIC',
        size_gb: 250,
      });
      expect(treeFiles(s.dir)).toEqual(before);
    });

    test('when a dataset moves between locations, then its bytes follow, verified, with one copy left and no plaintext in the tree', async () => {
      const marker = Buffer.from('PLAINTEXT-MARKER-'.repeat(1000));
      const data = Buffer.concat([marker, crypto.randomBytes(200_000)]);
      const id = await dataset();
      await upload(id, data);
      const m = await moveAndWait(id, { tier: 'COLD', location: 'PUBLIC', reason: 'test' });
      expect(m).toMatchObject({
        state: 'done',
        from: { tier: 'WARM', location: 'PRIVATE' },
        to: { tier: 'COLD', location: 'PUBLIC' },
        reason: 'manual',
        reason_detail: 'test',
        progress: 1,
      });
      expect(m.bytes_total).toBeGreaterThan(data.length);
      const d = (await request(http).get(`/api/datasets/${id}`)).body;
      expect(d).toMatchObject({ current_tier: 'COLD', storage_type: 'PUBLIC', migrating: false });
      const objectId = (d.location_uri as string).split('/').pop();
      const files = treeFiles(s.dir).filter((f) => f.includes(objectId!));
      expect(files).toEqual([`PUBLIC/COLD/${objectId}.enc`]);
      expect(sha((await download(id).expect(200)).body as Buffer)).toBe(sha(data));
      for (const f of treeFiles(s.dir)) {
        expect(fs.readFileSync(path.join(s.dir, 'tiers', f)).includes(marker.subarray(0, 34))).toBe(false);
      }
      const history = (await request(http).get('/api/migration_history?limit=500').expect(200)).body;
      expect(history.find((h: { id: number }) => h.id === m.id)).toMatchObject({
        dataset_id: id,
        from_tier: 'WARM',
        to_tier: 'COLD',
        from_storage: 'PRIVATE',
        to_storage: 'PUBLIC',
        reason: 'test',
        timestamp: expect.any(String),
      });
    });

    test('when a large dataset moves, then its source is unlinked just after the move is done: one copy left, no temporary file', async () => {
      // 64 MiB and more: the source leaves its name before "done" and is unlinked right after.
      const data = Buffer.concat([crypto.randomBytes(1024 * 1024), Buffer.alloc(64 * 1024 * 1024, 7)]);
      const id = await dataset();
      await upload(id, data);
      const m = await moveAndWait(id, { tier: 'HOT', location: 'ONPREM' });
      expect(m).toMatchObject({ state: 'done', to: { tier: 'HOT', location: 'ONPREM' } });
      const objectId = ((await request(http).get(`/api/datasets/${id}`)).body.location_uri as string).split('/').pop()!;
      await waitFor(() => {
        const files = treeFiles(s.dir).filter((f) => f.includes(objectId));
        return files.length === 1 && files[0] === `ONPREM/HOT/${objectId}.enc`;
      }, 'the moved source to be unlinked');
      expect(sha((await download(id).expect(200)).body as Buffer)).toBe(sha(data));
    });

    test("when the original demo's routes move a dataset, then they answer as it did", async () => {
      const id = await dataset();
      const data = crypto.randomBytes(50_000);
      await upload(id, data);
      await request(http)
        .post(`/api/migrate_enqueue/${id}`)
        .set(key)
        .send({ target_tier: 'LUKEWARM' })
        .expect(400, { detail: 'invalid target_tier', field: 'target_tier' });
      await request(http).post(`/api/migrate_enqueue/${id}`).send({ target_tier: 'HOT' }).expect(401);
      await request(http).post('/api/migrate_enqueue/99999').set(key).send({ target_tier: 'HOT' }).expect(404);
      await request(http)
        .post(`/api/migrate_enqueue/${id}`)
        .set(key)
        .send({ target_tier: 'HOT', reason: 'hot now' })
        .expect(200, { enqueued: true, dataset_id: id, target_tier: 'HOT' });
      // The row switches before the move is done: wait for both, or /migrate races the move's last step.
      await waitFor(async () => {
        const d = (await request(http).get(`/api/datasets/${id}`)).body;
        return d.current_tier === 'HOT' && d.migrating === false;
      }, 'the enqueued move');
      expect((await request(http).get(`/api/datasets/${id}`)).body.storage_type).toBe('ONPREM');
      const moved = await request(http)
        .post(`/api/datasets/${id}/migrate`)
        .set(key)
        .send({ target_tier: 'COLD' })
        .expect(200);
      expect(moved.body).toMatchObject({ id, current_tier: 'COLD', storage_type: 'PUBLIC', migrating: false });
      expect(Date.parse(moved.body.last_storage_migration)).toBeGreaterThan(0);
      await request(http).post('/api/datasets/99999/migrate').set(key).send({ target_tier: 'COLD' }).expect(404);
      expect(sha((await download(id).expect(200)).body as Buffer)).toBe(sha(data));
      const history = (await request(http).get('/api/migration_history').expect(200)).body as Array<
        Record<string, unknown>
      >;
      const mine = history.filter((h) => h.dataset_id === id);
      expect(mine.map((h) => [h.from_tier, h.to_tier])).toEqual([
        ['HOT', 'COLD'],
        ['WARM', 'HOT'],
      ]);
    });

    test('when a browser creates a dataset with its file in one multipart request, then both exist', async () => {
      const data = crypto.randomBytes(20_000);
      const r = await request(http)
        .post('/api/datasets')
        .set(key)
        .field('name', `multi-${++n}`)
        .field('description', 'from a form')
        .attach('file', data, 'x.bin')
        .expect(201);
      expect(r.body).toMatchObject({
        description: 'from a form',
        catalog_only: false,
        content: { bytes: 20_000, sha256: sha(data) },
      });
      const noName = await request(http).post('/api/datasets').set(key).attach('file', data, 'x.bin').expect(400);
      expect(noName.body.field).toBe('name');
    });

    test('when keys rotate, then every object stays readable and is wrapped by the new version', async () => {
      const id = await dataset();
      const data = crypto.randomBytes(30_000);
      await upload(id, data);
      const r = await request(http)
        .post('/api/keys/rotate')
        .set(key)
        .send({ locations: ['private'] })
        .expect(200);
      expect(r.body.versions).toEqual({ PRIVATE: 2 });
      expect(r.body.rewrapped).toBeGreaterThanOrEqual(1);
      const keys = (await request(http).get('/api/keys').expect(200)).body;
      const priv = keys.find((k: { location: string }) => k.location === 'PRIVATE');
      expect(priv.current_version).toBe(2);
      expect(Object.keys(priv.objects_by_key)).toEqual(['PRIVATE:v2']);
      expect(sha((await download(id).expect(200)).body as Buffer)).toBe(sha(data));
    });
  });

  describe('the master key', () => {
    test('when the app restarts with another ENCRYPTION_KEY, then it refuses to start, naming the mismatch', async () => {
      const dir = tempDir();
      const k1 = crypto.randomBytes(32).toString('base64url') + '=';
      const first = await startApp({ DATA_DIR: dir, ENCRYPTION_KEY: k1 }, undefined, { database });
      await first.stop();
      const k2 = crypto.randomBytes(32).toString('hex');
      const app = new App(
        parseConfig({
          DATA_DIR: dir,
          API_KEY,
          LOG_LEVEL: 'silent',
          ENCRYPTION_KEY: k2,
          ...(await databaseEnvFor(dir, database)),
        }),
      );
      await expect(app.start({ listen: false })).rejects.toThrow(
        /master key .* is not the one this data directory was written with/,
      );
      await app.stop();
    });

    test('when no key is configured, then one is generated into the data directory with mode 0600', async () => {
      const s = await startApp({}, undefined, { database });
      try {
        const file = path.join(s.dir, 'master.key');
        expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      } finally {
        await s.stop();
      }
    });
  });

  describe('a move whose copy is damaged before it is verified', () => {
    test('when a byte of the temporary copy flips before its verification, then the move fails, the source stays and downloads intact, and no copy is left', async () => {
      // Large enough for several verification blocks; the fault flips a byte in the middle of the first one read.
      const s = await startApp(
        {
          STORAGE_CHUNK_SIZE: String(CHUNK),
          MOVE_BANDWIDTH: '0',
          DIM_FAULT_PAUSE: 'move.before_verify:corrupt',
        },
        undefined,
        { database },
      );
      try {
        const http = s.app.http;
        const id = (await request(http).post('/api/datasets').set(key).send({ name: 'corrupt-copy' }).expect(201)).body
          .id as number;
        const data = crypto.randomBytes(9 * 1024 * 1024 + 333);
        await request(http)
          .put(`/api/datasets/${id}/content`)
          .set(key)
          .set('content-type', 'application/octet-stream')
          .send(data)
          .expect(200);
        const before = treeFiles(s.dir);
        const m = (
          await request(http)
            .post(`/api/datasets/${id}/moves`)
            .set(key)
            .send({ tier: 'COLD', location: 'PUBLIC' })
            .expect(202)
        ).body;
        const done = await waitFor(async () => {
          const r = (await request(http).get(`/api/migrations/${m.id}`).expect(200)).body;
          return ['done', 'failed', 'cancelled'].includes(r.state) ? r : undefined;
        }, 'the move to end');
        expect(done).toMatchObject({ state: 'failed', error: 'verification failed: the copy differs from the source' });
        expect((await request(http).get(`/api/datasets/${id}`)).body).toMatchObject({
          current_tier: 'WARM',
          storage_type: 'PRIVATE',
          migrating: false,
        });
        expect(treeFiles(s.dir)).toEqual(before);
        const dl = await request(http).get(`/api/datasets/${id}/content`).buffer(true).parse(binaryBody).expect(200);
        expect(sha(dl.body as Buffer)).toBe(sha(data));
        // The same move, tried again without the fault, goes through.
        const again = (
          await request(http)
            .post(`/api/datasets/${id}/moves`)
            .set(key)
            .send({ tier: 'COLD', location: 'PUBLIC' })
            .expect(202)
        ).body;
        const ok = await waitFor(async () => {
          const r = (await request(http).get(`/api/migrations/${again.id}`).expect(200)).body;
          return ['done', 'failed', 'cancelled'].includes(r.state) ? r : undefined;
        }, 'the second move to end');
        expect(ok.state).toBe('done');
      } finally {
        await s.stop();
      }
    });
  });
});
