import crypto from 'node:crypto';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import fs from 'node:fs';
import path from 'node:path';
import { spawnApp, type ChildApp } from './support/child-app';
import { API_KEY, tempDir, waitFor } from './support/harness';
import { call } from './support/http-client';
import { startS3 } from './support/s3-server';

const sha = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');

function tierFiles(dir: string): string[] {
  const root = path.join(dir, 'tiers');
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else out.push(path.relative(root, path.join(d, e.name)));
    }
  };
  walk(root);
  return out;
}

async function put(app: ChildApp, id: number, data: Buffer): Promise<void> {
  const r = await fetch(`${app.url}/api/datasets/${id}/content`, {
    method: 'PUT',
    headers: { 'x-api-key': API_KEY, 'content-type': 'application/octet-stream' },
    body: data,
  });
  expect(r.status).toBe(200);
}

async function get(app: ChildApp, id: number): Promise<Buffer> {
  const r = await fetch(`${app.url}/api/datasets/${id}/content`);
  expect(r.status).toBe(200);
  return Buffer.from(await r.arrayBuffer());
}

/** The keys under the PUBLIC store: the bucket's for an S3 store, else those in the tier tree. */
type PublicKeys = (dir: string) => Promise<string[]>;

// PUBLIC as a folder under DATA_DIR, then as a bucket on a real s3rver (the move streams file -> S3).
describe.each(['file', 's3'] as const)('a move to a %s store killed with SIGKILL at each step', (kind) => {
  let s3: Awaited<ReturnType<typeof startS3>> | undefined;
  let buckets = 0;
  beforeAll(async () => {
    if (kind === 's3') s3 = await startS3();
  });
  afterAll(async () => {
    await s3?.stop();
  });

  /** DATA_DIR and, for S3, a fresh bucket as PUBLIC; and how to list what PUBLIC holds. */
  async function placeOf(dir: string): Promise<{ env: Record<string, string>; publicKeys: PublicKeys }> {
    if (!s3) {
      return {
        env: {},
        publicKeys: (d) => Promise.resolve(tierFiles(d).filter((f) => f.startsWith('PUBLIC/'))),
      };
    }
    const server = s3;
    const bucket = await server.bucket(
      `crash-${++buckets}-${path
        .basename(dir)
        .toLowerCase()
        .replace(/[^a-z0-9]/g, '')}`,
    );
    return {
      env: server.env('PUBLIC', bucket),
      publicKeys: async () => {
        const r = await server.client.send(new ListObjectsV2Command({ Bucket: bucket }));
        return (r.Contents ?? []).map((o) => `PUBLIC/${o.Key!.replace(/^dim\//, '')}`);
      },
    };
  }

  test.each(['move.before_copy', 'move.mid_copy', 'move.after_rename', 'move.after_switch'])(
    'when the process dies at %s and restarts, then every dataset downloads intact, one copy each, no temporary file',
    async (point) => {
      const dir = tempDir('dim-move-crash-');
      const place = await placeOf(dir);
      const env = { DATA_DIR: dir, STORAGE_CHUNK_SIZE: '65536', ...place.env };
      let app: ChildApp = await spawnApp({ ...env, DIM_FAULT_PAUSE: point });
      try {
        const data = [crypto.randomBytes(3 * 1024 * 1024 + 5), crypto.randomBytes(700_000)];
        const ids: number[] = [];
        for (const [i, d] of data.entries()) {
          const c = await call(app.url, 'POST', '/api/datasets', { name: `crash-${i}` });
          ids.push(c.body.id);
          await put(app, c.body.id, d);
        }
        const m = await call(app.url, 'POST', `/api/datasets/${ids[0]}/moves`, { tier: 'COLD', location: 'PUBLIC' });
        expect(m.status).toBe(202);
        await waitFor(
          () => app.output().includes('"fault.paused"') && app.output().includes(point),
          `the move to pause at ${point}`,
          30_000,
          20,
        );
        app.proc.kill('SIGKILL');
        expect(await app.exited).toBe('SIGKILL');

        app = await spawnApp(env);
        const done = await waitFor(
          async () => {
            const r = (await call(app.url, 'GET', `/api/migrations/${m.body.id}`)).body;
            return r.state === 'done' ? r : undefined;
          },
          'the move to finish after recovery',
          30_000,
          50,
        );
        expect(done.to).toEqual({ tier: 'COLD', location: 'PUBLIC' });
        expect(app.output()).toMatch(
          point === 'move.before_copy' ? /app.started/ : /move.recovered|storage.orphan_removed/,
        );

        for (const [i, id] of ids.entries()) expect(sha(await get(app, id))).toBe(sha(data[i]!));
        const files = [...tierFiles(dir).filter((f) => !f.startsWith('PUBLIC/')), ...(await place.publicKeys(dir))];
        expect(files.filter((f) => f.includes('.tmp-'))).toEqual([]);
        expect(files).toHaveLength(2);
        const d0 = (await call(app.url, 'GET', `/api/datasets/${ids[0]}`)).body;
        expect(d0).toMatchObject({ current_tier: 'COLD', storage_type: 'PUBLIC' });
        expect(files).toContain(`PUBLIC/COLD/${(d0.location_uri as string).split('/').pop()}.enc`);
      } finally {
        if (app.proc.exitCode === null) app.proc.kill('SIGKILL');
      }
    },
    90_000,
  );
});
