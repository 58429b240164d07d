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

type Location = 'ONPREM' | 'PRIVATE' | 'PUBLIC';
type Tier = 'HOT' | 'WARM' | 'COLD';

/** One way a move can go: which locations are S3 buckets (on a real s3rver), and from where to where. */
interface CrashPath {
  name: string;
  s3: Location[];
  from: { location: Location; tier: Tier };
  to: { location: Location; tier: Tier };
  /** How the move says its copy was made. */
  copy: 'file' | 'server' | 'streamed';
}

// Every way a move copies: the file tree's copy, a stream into or out of S3, and the server's own
// copy inside one bucket. s3rver takes CopyObject but ignores the new storage class on it (the
// copy keeps the source's), so the server-side case checks keys, not classes; it has no
// ListMultipartUploads either, so "nothing orphaned" is the bucket's objects and the local
// staging folders, not abandoned multipart uploads (abortAbandoned answers "cannot list" there).
const PATHS: CrashPath[] = [
  {
    name: 'file -> file',
    s3: [],
    from: { location: 'ONPREM', tier: 'HOT' },
    to: { location: 'PUBLIC', tier: 'COLD' },
    copy: 'file',
  },
  {
    name: 'file -> S3 (streamed)',
    s3: ['PUBLIC'],
    from: { location: 'ONPREM', tier: 'HOT' },
    to: { location: 'PUBLIC', tier: 'COLD' },
    copy: 'streamed',
  },
  {
    name: 'S3 tier change (server-side copy)',
    s3: ['PUBLIC'],
    from: { location: 'PUBLIC', tier: 'HOT' },
    to: { location: 'PUBLIC', tier: 'COLD' },
    copy: 'server',
  },
  {
    name: 'S3 -> S3 across locations (streamed)',
    s3: ['PRIVATE', 'PUBLIC'],
    from: { location: 'PRIVATE', tier: 'HOT' },
    to: { location: 'PUBLIC', tier: 'COLD' },
    copy: 'streamed',
  },
  {
    name: 'S3 -> file',
    s3: ['PUBLIC'],
    from: { location: 'PUBLIC', tier: 'HOT' },
    to: { location: 'ONPREM', tier: 'COLD' },
    copy: 'streamed',
  },
];

describe.each(PATHS)('a move ($name) killed with SIGKILL at each step', (path_) => {
  let s3: Awaited<ReturnType<typeof startS3>> | undefined;
  let buckets = 0;
  beforeAll(async () => {
    if (path_.s3.length > 0) s3 = await startS3();
  });
  afterAll(async () => {
    await s3?.stop();
  });

  /** A fresh bucket per S3 location, and every object the stores hold: `<LOCATION>/<key>`, local files included. */
  async function placeOf(dir: string): Promise<{ env: Record<string, string>; objects: () => Promise<string[]> }> {
    const env: Record<string, string> = {};
    const lists: Array<() => Promise<string[]>> = [];
    for (const location of path_.s3) {
      const server = s3!;
      const bucket = await server.bucket(
        `crash-${++buckets}-${location.toLowerCase()}-${path
          .basename(dir)
          .toLowerCase()
          .replace(/[^a-z0-9]/g, '')}`,
      );
      Object.assign(env, server.env(location, bucket));
      lists.push(async () => {
        const r = await server.client.send(new ListObjectsV2Command({ Bucket: bucket }));
        return (r.Contents ?? []).map((o) => `${location}/${o.Key!.replace(/^dim\//, '')}`);
      });
    }
    // The tier tree holds the file locations' objects and the S3 locations' staging files.
    return { env, objects: async () => [...tierFiles(dir), ...(await Promise.all(lists.map((l) => l()))).flat()] };
  }

  test.each(['move.before_copy', 'move.mid_copy', 'move.after_rename', 'move.after_switch'])(
    'when the process dies at %s and restarts, then every dataset downloads intact, one copy each, nothing left over',
    async (point) => {
      const dir = tempDir('dim-move-crash-');
      const place = await placeOf(dir);
      const env = { DATA_DIR: dir, STORAGE_CHUNK_SIZE: '65536', ...place.env };
      let app: ChildApp = await spawnApp({ ...env, DIM_FAULT_PAUSE: point });
      try {
        const data = [crypto.randomBytes(3 * 1024 * 1024 + 5), crypto.randomBytes(700_000)];
        const ids: number[] = [];
        for (const [i, d] of data.entries()) {
          const c = await call(app.url, 'POST', '/api/datasets', { name: `crash-${i}`, ...path_.from });
          expect(c.status).toBe(201);
          ids.push(c.body.id);
          await put(app, c.body.id, d);
        }
        const m = await call(app.url, 'POST', `/api/datasets/${ids[0]}/moves`, path_.to);
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
        expect(done.to).toEqual(path_.to);
        expect(done.copy).toBe(path_.copy);
        expect(app.output()).toMatch(
          point === 'move.before_copy' ? /app.started/ : /move.recovered|storage.orphan_removed/,
        );

        for (const [i, id] of ids.entries()) expect(sha(await get(app, id))).toBe(sha(data[i]!));
        const objects = await place.objects();
        expect(objects.filter((f) => f.includes('.tmp-'))).toEqual([]);
        const objectIdOf = async (id: number): Promise<string> =>
          ((await call(app.url, 'GET', `/api/datasets/${id}`)).body.location_uri as string).split('/').pop()!;
        const d0 = (await call(app.url, 'GET', `/api/datasets/${ids[0]}`)).body;
        expect(d0).toMatchObject({ current_tier: path_.to.tier, storage_type: path_.to.location });
        const { location: fl, tier: ft } = path_.from;
        expect(objects.sort()).toEqual(
          [
            `${path_.to.location}/${path_.to.tier}/${await objectIdOf(ids[0]!)}.enc`,
            `${fl}/${ft}/${await objectIdOf(ids[1]!)}.enc`,
          ].sort(),
        );
      } finally {
        if (app.proc.exitCode === null) app.proc.kill('SIGKILL');
      }
    },
    90_000,
  );
});
