import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import request from 'supertest';
import type { App } from '../src/app';
import { API_KEY, startApp, tempDir, waitFor } from './support/harness';
import { binaryBody } from './support/http-client';

/**
 * A move onto a placement whose disk fills up mid-copy. The destination directory is a small
 * tmpfs, so this needs root (CI runs as root); elsewhere the tests are skipped with a message.
 */
const key = { 'x-api-key': API_KEY };
const TMPFS_BYTES = 4 * 1024 * 1024;
const sha = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');

/** Why a tmpfs cannot be mounted here, or undefined when it can. */
function cannotMount(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root';
  const dir = tempDir('dim-mount-probe-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'pipe' });
    execFileSync('umount', [dir], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `mount -t tmpfs failed: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const reason = cannotMount();
if (reason)
  console.warn(
    `test/disk-full.test.ts SKIPPED: ${reason}. These tests mount a tmpfs as a placement's directory; run them as root.`,
  );
const rootTest = reason ? test.skip : test;

describe.each([
  ['a plain copy', '0'],
  ['a throttled copy', '64mb'],
])('the disk full during a move (%s)', (_label, bandwidth) => {
  let s: Awaited<ReturnType<typeof startApp>>;
  let http: App['http'];
  let mounted: string | undefined;

  beforeAll(async () => {
    if (reason) return;
    s = await startApp({ MOVE_BANDWIDTH: bandwidth, SCHEDULER_ENABLED: 'false' });
    http = s.app.http;
    // The destination placement's directory becomes a disk with less room than the dataset.
    mounted = path.join(s.dir, 'tiers', 'PUBLIC', 'COLD');
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_BYTES},mode=0700`, 'tmpfs', mounted]);
  });
  afterAll(async () => {
    await s?.stop();
    if (mounted) execFileSync('umount', [mounted]);
  });

  async function moveAndWait(id: number, tier: string, location: string): Promise<Record<string, any>> {
    const m = await request(http).post(`/api/datasets/${id}/moves`).set(key).send({ tier, location }).expect(202);
    return waitFor(
      async () => {
        const r = (await request(http).get(`/api/migrations/${m.body.id}`).expect(200)).body;
        return ['done', 'failed', 'cancelled'].includes(r.state) ? r : undefined;
      },
      `move ${m.body.id} to finish`,
      30_000,
    );
  }
  async function download(id: number): Promise<Buffer> {
    const r = await request(http).get(`/api/datasets/${id}/content`).buffer(true).parse(binaryBody).expect(200);
    return r.body as Buffer;
  }

  rootTest(
    'when the destination fills up mid-copy, then the move fails naming ENOSPC, the source stays whole and in use, nothing is left on the destination, and a move to a placement with room then succeeds',
    async () => {
      const id = (
        await request(http)
          .post('/api/datasets')
          .set(key)
          .send({ name: `too-big-${bandwidth}`, tier: 'WARM', location: 'PRIVATE' })
          .expect(201)
      ).body.id as number;
      const content = crypto.randomBytes(3 * TMPFS_BYTES);
      await request(http)
        .put(`/api/datasets/${id}/content`)
        .set(key)
        .set('content-type', 'application/octet-stream')
        .send(content)
        .expect(200);
      const sourceFiles = fs.readdirSync(path.join(s.dir, 'tiers', 'PRIVATE', 'WARM'));
      expect(sourceFiles).toHaveLength(1);

      const failed = await moveAndWait(id, 'COLD', 'PUBLIC');
      expect(failed.state).toBe('failed');
      expect(failed.error).toMatch(/ENOSPC/);
      expect(failed.error).toMatch(/full/);

      // The source is where it was, the database still points at it, and it reads back whole.
      expect(fs.readdirSync(path.join(s.dir, 'tiers', 'PRIVATE', 'WARM'))).toEqual(sourceFiles);
      const ds = (await request(http).get(`/api/datasets/${id}`).expect(200)).body;
      expect([ds.location, ds.tier]).toEqual(['PRIVATE', 'WARM']);
      expect(ds.migrating).toBeFalsy();
      expect(sha(await download(id))).toBe(sha(content));
      // Nothing on the full disk: no temporary file, no partial object.
      expect(fs.readdirSync(mounted!)).toEqual([]);
      expect(fs.statfsSync(mounted!).bfree * fs.statfsSync(mounted!).bsize).toBe(TMPFS_BYTES);
      await request(http).get('/healthz').expect(200);
      await request(http).get('/readyz').expect(200);

      // A small dataset still fits there, and the big one moves where there is room.
      const small = (
        await request(http)
          .post('/api/datasets')
          .set(key)
          .send({ name: `fits-${bandwidth}`, tier: 'WARM', location: 'PRIVATE' })
          .expect(201)
      ).body.id as number;
      const smallContent = crypto.randomBytes(64 * 1024);
      await request(http)
        .put(`/api/datasets/${small}/content`)
        .set(key)
        .set('content-type', 'application/octet-stream')
        .send(smallContent)
        .expect(200);
      expect((await moveAndWait(small, 'COLD', 'PUBLIC')).state).toBe('done');
      expect(sha(await download(small))).toBe(sha(smallContent));

      const moved = await moveAndWait(id, 'COLD', 'PRIVATE');
      expect(moved.state).toBe('done');
      expect(sha(await download(id))).toBe(sha(content));
      expect(fs.readdirSync(path.join(s.dir, 'tiers', 'PRIVATE', 'WARM'))).toEqual([]);
    },
  );
});

describe('a full disk under an upload', () => {
  let s: Awaited<ReturnType<typeof startApp>>;
  let mounted: string | undefined;
  beforeAll(async () => {
    if (reason) return;
    s = await startApp({ SCHEDULER_ENABLED: 'false' });
    mounted = path.join(s.dir, 'tiers', 'PUBLIC', 'COLD');
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_BYTES},mode=0700`, 'tmpfs', mounted]);
  });
  afterAll(async () => {
    await s?.stop();
    if (mounted) execFileSync('umount', [mounted]);
  });

  rootTest(
    'when an upload does not fit on its placement, then it gets 507 naming the full storage, the old content stays and no temporary file is left',
    async () => {
      const http = s.app.http;
      const id = (
        await request(http)
          .post('/api/datasets')
          .set(key)
          .send({ name: 'upload-too-big', tier: 'COLD', location: 'PUBLIC' })
          .expect(201)
      ).body.id as number;
      const old = crypto.randomBytes(256 * 1024);
      await request(http)
        .put(`/api/datasets/${id}/content`)
        .set(key)
        .set('content-type', 'application/octet-stream')
        .send(old)
        .expect(200);
      const r = await request(http)
        .put(`/api/datasets/${id}/content`)
        .set(key)
        .set('content-type', 'application/octet-stream')
        .send(crypto.randomBytes(2 * TMPFS_BYTES));
      expect(r.status).toBe(507);
      expect(r.body.detail).toMatch(/full/);
      expect(fs.readdirSync(mounted!).filter((f) => f.startsWith('.tmp-'))).toEqual([]);
      const back = await request(http).get(`/api/datasets/${id}/content`).buffer(true).parse(binaryBody);
      expect(sha(back.body as Buffer)).toBe(sha(old));
    },
  );
});

describe('the disk full during a move, without root (ENOSPC injected into the copy)', () => {
  test('when the kernel copy fails with ENOSPC halfway, then the move fails naming it, the partial copy is removed and the source stays in use', async () => {
    const s = await startApp({ MOVE_BANDWIDTH: '0', SCHEDULER_ENABLED: 'false' });
    // The real move path; only the copy itself is replaced, by one that writes half and then
    // fails the way copy_file_range does on a full disk.
    const copyFile = jest.spyOn(fsp, 'copyFile').mockImplementationOnce(async (src, dest) => {
      const data = await fsp.readFile(src);
      await fsp.writeFile(dest, data.subarray(0, data.length >> 1));
      throw Object.assign(
        new Error(`ENOSPC: no space left on device, copyfile '${String(src)}' -> '${String(dest)}'`),
        { code: 'ENOSPC', errno: -28, syscall: 'copyfile' },
      );
    });
    try {
      const http = s.app.http;
      const id = (
        await request(http)
          .post('/api/datasets')
          .set(key)
          .send({ name: 'injected', tier: 'WARM', location: 'PRIVATE' })
          .expect(201)
      ).body.id as number;
      const content = crypto.randomBytes(3 * 1024 * 1024);
      await request(http)
        .put(`/api/datasets/${id}/content`)
        .set(key)
        .set('content-type', 'application/octet-stream')
        .send(content)
        .expect(200);
      const m = await request(http)
        .post(`/api/datasets/${id}/moves`)
        .set(key)
        .send({ tier: 'COLD', location: 'PUBLIC' })
        .expect(202);
      const failed = await waitFor(async () => {
        const r = (await request(http).get(`/api/migrations/${m.body.id}`)).body;
        return r.state === 'failed' ? r : undefined;
      }, 'the move to fail');
      expect(copyFile).toHaveBeenCalled();
      expect(failed.error).toMatch(/ENOSPC/);
      expect(fs.readdirSync(path.join(s.dir, 'tiers', 'PUBLIC', 'COLD'))).toEqual([]);
      const ds = (await request(http).get(`/api/datasets/${id}`).expect(200)).body;
      expect([ds.location, ds.tier]).toEqual(['PRIVATE', 'WARM']);
      expect(ds.content.sha256).toBe(sha(content));
      const back = await request(http).get(`/api/datasets/${id}/content`).buffer(true).parse(binaryBody);
      expect(sha(back.body as Buffer)).toBe(sha(content));
    } finally {
      copyFile.mockRestore();
      await s.stop();
    }
  });
});
