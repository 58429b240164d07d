import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawnApp, type ChildApp } from './support/child-app';
import { API_KEY, tempDir, waitFor } from './support/harness';

const CLI = path.resolve(__dirname, '../dist/src/cli/main.js');

function cli(app: ChildApp, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, '--url', app.url, '--key', API_KEY, ...args],
      { maxBuffer: 1 << 24 },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

async function getJson(app: ChildApp, p: string): Promise<any> {
  const r = await fetch(app.url + p, { headers: { 'x-api-key': API_KEY } });
  return r.json();
}

describe('the CLI against a running instance', () => {
  let app: ChildApp;
  const work = tempDir('dim-cli-');
  beforeAll(async () => {
    app = await spawnApp({ DATA_DIR: path.join(work, 'data'), LOG_LEVEL: 'warn', SCHEDULER_ENABLED: 'false' });
  });
  afterAll(async () => {
    app?.proc.kill('SIGTERM');
    await app?.exited;
  });

  test('when a directory tree is imported, then each file becomes a dataset whose download has its SHA-256', async () => {
    const tree = path.join(work, 'tree');
    fs.mkdirSync(path.join(tree, 'sub', 'deeper'), { recursive: true });
    const files: Record<string, Buffer> = {
      'a.bin': crypto.randomBytes(3 * 1024 * 1024 + 7),
      'sub/b.txt': Buffer.from('hello'),
      'sub/deeper/empty': Buffer.alloc(0),
    };
    for (const [rel, data] of Object.entries(files)) fs.writeFileSync(path.join(tree, rel), data);
    const r = await cli(app, 'import', tree, '--prefix', 'imp/');
    expect(r.code).toBe(0);
    const out = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(out.map((o) => o.name).sort()).toEqual(['imp/a.bin', 'imp/sub/b.txt', 'imp/sub/deeper/empty']);
    for (const o of out) {
      const want = files[o.name.slice('imp/'.length)]!;
      expect(o.sha256).toBe(crypto.createHash('sha256').update(want).digest('hex'));
      const got = Buffer.from(await (await fetch(`${app.url}/api/datasets/${o.id}/content`)).arrayBuffer());
      expect(got.equals(want)).toBe(true);
    }
    expect(r.stderr).toMatch(/import 3 file\(s\) \[#+\] 100%/);
  });

  test('when events are sent from an NDJSON file (some without ids, which the CLI numbers), then every one is counted', async () => {
    const d = JSON.parse((await cli(app, 'datasets', 'create', 'events-target', '--size-gb', '12.5')).stdout);
    const file = path.join(work, 'events.ndjson');
    fs.writeFileSync(
      file,
      Array.from({ length: 2_500 }, (_, i) =>
        JSON.stringify({
          ...(i % 3 ? { id: `cli-${i}` } : {}),
          dataset_id: d.id,
          type: i % 5 ? 'read' : 'write',
          bytes: 100,
        }),
      ).join('\n') + '\n',
    );
    const r = await cli(app, 'events', 'send', file, '--batch', '700');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ accepted: 2_500 });
    await waitFor(
      async () => (await getJson(app, `/api/datasets/${d.id}`)).access_count === 2_500,
      'the events to be counted',
    );
    // Sent again, the same ids count once; the third without an id is a new run's events.
    expect((await cli(app, 'events', 'send', file)).code).toBe(0);
    await waitFor(
      async () => (await getJson(app, `/api/datasets/${d.id}`)).access_count >= 2_500 + 834,
      'the id-less events of the second run',
    );
    // Nothing more arrives: once the bus has no event left to apply, the count is final.
    await waitFor(async () => (await getJson(app, '/api/stream')).lag === 0, 'the bus drained');
    expect((await getJson(app, `/api/datasets/${d.id}`)).access_count).toBe(2_500 + 834);
  });

  test('when keys are rotated from the CLI, then stored content stays readable and a move completes with --wait', async () => {
    const before = JSON.parse((await cli(app, 'keys', 'status')).stdout);
    const rotated = await cli(app, 'keys', 'rotate', '--location', 'PRIVATE');
    expect(rotated.code).toBe(0);
    const after = JSON.parse((await cli(app, 'keys', 'status')).stdout);
    expect(JSON.stringify(after)).not.toEqual(JSON.stringify(before));
    const list = await getJson(app, '/api/datasets?name=imp/a.bin');
    const id = list[0].id;
    const moved = await cli(app, 'move', String(id), '--location', 'PUBLIC', '--tier', 'COLD', '--wait');
    expect(moved.code).toBe(0);
    expect(JSON.parse(moved.stdout.trim().split('\n').pop()!)).toMatchObject({ state: 'done' });
    const res = await fetch(`${app.url}/api/datasets/${id}/content`);
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(3 * 1024 * 1024 + 7);
  });

  test('when a scrub is run from the CLI, then it prints the finished report and exits 0 with nothing damaged', async () => {
    const r = await cli(app, 'scrub');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.running).toBe(false);
    expect(report.last).toMatchObject({ trigger: 'api', damaged: 0, error: null });
    expect(report.last.objects).toBeGreaterThan(0);
  });

  test('when verify runs against the instance, then every step passes and it cleans up; with a wrong key it fails', async () => {
    const VERIFY = path.resolve(__dirname, '../dist/src/cli/verify.js');
    const run = (key: string): Promise<{ code: number; stdout: string }> =>
      new Promise((resolve) =>
        execFile(process.execPath, [VERIFY, '--url', app.url, '--key', key], (err, stdout) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout }),
        ),
      );
    const before = (await getJson(app, '/api/datasets?limit=1000')).length;
    const ok = await run(API_KEY);
    expect(ok.stdout.trim().split('\n').pop()).toBe('8 passed, 0 failed');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/ok +move the dataset to another location and download it intact/);
    expect((await getJson(app, '/api/datasets?limit=1000')).length).toBe(before);
    const bad = await run('wrong-key-123');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/FAIL +auth/);
  });

  test('when the CLI is misused or the server refuses, then it says why and exits non-zero', async () => {
    const usage = await cli(app, 'frobnicate');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/unknown command/);
    const bad = await cli(app, 'move', '999999', '--tier', 'HOT');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/HTTP 404/);
    const status = await cli(app, 'status');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/ready +ready/);
  });
});
