import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { App } from '../src/app';
import { recover } from '../src/cli/recover';
import { encryptedSize, generateMasterKey } from '../src/storage/crypto';
import { API_KEY, startApp, tempDir, waitFor } from './support/harness';
import { binaryBody } from './support/http-client';

/**
 * Issue 18: the bytes outlive the database. Objects carry their wrapped data key and catalog
 * facts, so `recover` (product stopped) rebuilds the catalog from the stores alone, or repairs
 * an existing one.
 */
const key = { 'x-api-key': API_KEY };
const sha = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');
const SIZES = [1, 4095, 4096, 70_000, 300_001];

interface Expect {
  id: number;
  name: string;
  data: Buffer;
  tier: string;
  location: string;
}

describe('recover: the catalog rebuilt from the stores', () => {
  const dir = tempDir('dim-recover-');
  const env = {
    DATA_DIR: dir,
    ENCRYPTION_KEY: generateMasterKey(),
    SCHEDULER_ENABLED: 'false',
    STORAGE_CHUNK_SIZE: '4096',
    MOVE_BANDWIDTH: '0',
  };
  const dbFiles = (): string[] =>
    ['data-in-motion.sqlite', 'data-in-motion.sqlite-wal', 'data-in-motion.sqlite-shm'].map((f) => path.join(dir, f));
  const expected: Expect[] = [];
  let out: string[] = [];
  let write: jest.SpyInstance;

  beforeEach(() => {
    out = [];
    write = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      out.push(String(s));
      return true;
    });
  });
  afterEach(() => write.mockRestore());

  /** A dataset's object file: the one at its placement with its size (all sizes differ). */
  function fileOf(e: Expect): string {
    const at = path.join(dir, 'tiers', e.location, e.tier);
    const size = encryptedSize(e.data.length, 4096, 4096);
    return fs
      .readdirSync(at)
      .map((n) => path.join(at, n))
      .find((f) => fs.statSync(f).size === size)!;
  }

  async function withApp(fn: (h: App['http']) => Promise<void>): Promise<void> {
    const s = await startApp({ ...env, LOG_LEVEL: 'silent' });
    try {
      await fn(s.app.http);
    } finally {
      await s.stop();
    }
  }

  async function moveAndWait(h: App['http'], id: number, tier: string, location: string): Promise<void> {
    const m = await request(h).post(`/api/datasets/${id}/moves`).set(key).send({ tier, location }).expect(202);
    await waitFor(
      async () => (await request(h).get(`/api/migrations/${m.body.id}`).expect(200)).body.state === 'done',
      `move ${m.body.id} to be done`,
      30_000,
    );
  }

  /** Every expected dataset downloads with its SHA-256, at its placement. */
  async function checkAll(h: App['http'], skip: number[] = []): Promise<void> {
    for (const e of expected) {
      if (skip.includes(e.id)) continue;
      const d = (await request(h).get(`/api/datasets/${e.id}`).expect(200)).body;
      expect(d).toMatchObject({ name: e.name, tier: e.tier, location: e.location });
      const r = await request(h).get(`/api/datasets/${e.id}/content`).buffer(true).parse(binaryBody).expect(200);
      expect(sha(r.body as Buffer)).toBe(sha(e.data));
    }
  }

  test('when datasets were uploaded, moved and their keys rotated and the database is deleted, then recover brings every one back at its placement', async () => {
    await withApp(async (h) => {
      for (const [i, size] of SIZES.entries()) {
        const name = `set-${i}`;
        const id = (await request(h).post('/api/datasets').set(key).send({ name }).expect(201)).body.id as number;
        const data = crypto.randomBytes(size);
        await request(h)
          .put(`/api/datasets/${id}/content`)
          .set(key)
          .set('content-type', 'application/octet-stream')
          .send(data)
          .expect(200);
        expected.push({ id, name, data, tier: 'WARM', location: 'PRIVATE' });
      }
      await moveAndWait(h, expected[1]!.id, 'COLD', 'PUBLIC');
      Object.assign(expected[1]!, { tier: 'COLD', location: 'PUBLIC' });
      await request(h).post('/api/keys/rotate').set(key).send({}).expect(200);
      await moveAndWait(h, expected[3]!.id, 'HOT', 'ONPREM');
      Object.assign(expected[3]!, { tier: 'HOT', location: 'ONPREM' });
      await checkAll(h);
    });
    for (const f of dbFiles()) fs.rmSync(f, { force: true });

    expect(await recover({ dryRun: false, json: false }, env)).toBe(0);
    const printed = out.join('');
    expect(printed).toContain(`${SIZES.length} objects in the stores`);
    expect(printed).toContain(`added: ${SIZES.length}`);
    expect(printed).toContain('Statistics and decisions are not in the objects');

    await withApp(async (h) => {
      await checkAll(h);
      // Rotated keys stay current after the rebuild: a new rotation goes past them.
      const keys = (await request(h).get('/api/keys').set(key).expect(200)).body as Array<Record<string, unknown>>;
      expect(JSON.stringify(keys)).toContain('"current_version":2');
    });
    // Run again on the rebuilt catalog: everything matches, nothing to repair.
    out = [];
    expect(await recover({ dryRun: false, json: true }, env)).toBe(0);
    const again = JSON.parse(out.join('')) as { matched: number; findings: unknown[] };
    expect(again).toMatchObject({ matched: SIZES.length, findings: [] });
  });

  test("when one object's key field is damaged, then recover reports that object and recovers the rest", async () => {
    for (const f of dbFiles()) fs.rmSync(f, { force: true });
    const hurt = expected[2]!;
    const file = fileOf(hurt);
    const bytes = fs.readFileSync(file);
    // In the wrapped data key: prefix (32), nonce (12), key id length (2), "PRIVATE:v2" (10), wrapped length (2).
    const at = 32 + 12 + 2 + 10 + 2 + 20;
    bytes[at] = bytes[at]! ^ 0x40;
    fs.writeFileSync(file, bytes);

    expect(await recover({ dryRun: false, json: true }, env)).toBe(1);
    const report = JSON.parse(out.join('')) as { findings: Array<Record<string, unknown>> };
    const unreadable = report.findings.filter((f) => f.action === 'unreadable');
    expect(unreadable).toHaveLength(1);
    expect(unreadable[0]!.object).toBe(path.relative(path.join(dir, 'tiers'), file));
    expect(unreadable[0]!.detail).toMatch(/does not unwrap/);
    expect(report.findings.filter((f) => f.action === 'added')).toHaveLength(SIZES.length - 1);
    await withApp(async (h) => {
      await checkAll(h, [hurt.id]);
      await request(h).get(`/api/datasets/${hurt.id}`).expect(404);
    });
    bytes[at] = bytes[at] ^ 0x40;
    fs.writeFileSync(file, bytes);
  });

  test('when the database exists, then recover repairs differences instead of overwriting: a lost row comes back, a row whose object is gone becomes catalog-only', async () => {
    // The object of the dataset left out above is whole again: the catalog does not know it.
    const gone = expected[0]!;
    await withApp(async (h) => {
      const d = (await request(h).get(`/api/datasets/${gone.id}/content`).set(key)).status;
      expect(d).toBe(200);
      await request(h).patch(`/api/datasets/${expected[4]!.id}`).set(key).send({ name: 'renamed-4' }).expect(200);
      expected[4]!.name = 'renamed-4';
    });
    fs.rmSync(fileOf(gone));

    expect(await recover({ dryRun: false, json: true }, env)).toBe(0);
    const report = JSON.parse(out.join('')) as { findings: Array<Record<string, unknown>> };
    expect(report.findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'added', dataset_id: expected[2]!.id }),
        expect.objectContaining({ action: 'detached', dataset_id: gone.id }),
      ]),
    );
    await withApp(async (h) => {
      // The rename the catalog holds is kept: the label's name does not overwrite it.
      await checkAll(h, [gone.id]);
      const r = await request(h).get(`/api/datasets/${gone.id}/content`);
      expect(r.status).toBe(404);
      expect(r.body.catalog_only).toBe(true);
    });
  });

  test('when the product starts on an empty database (lost, or restored from before the uploads), then the objects are kept for recover, not removed as orphans', async () => {
    for (const f of dbFiles()) fs.rmSync(f, { force: true });
    const before = expected.filter((e) => e.id !== expected[0]!.id).map(fileOf);
    await withApp(async (h) => {
      await request(h).get(`/api/datasets/${expected[1]!.id}`).expect(404);
    });
    for (const f of before) expect(fs.existsSync(f)).toBe(true);
    expect(await recover({ dryRun: false, json: true }, env)).toBe(0);
    // A label keeps the name the dataset had when its object was written (uploaded or moved).
    expected[4]!.name = 'set-4';
    await withApp((h) => checkAll(h, [expected[0]!.id]));
  });
});
