import crypto from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { App } from '../src/app';
import { recover } from '../src/cli/recover';
import { generateMasterKey } from '../src/storage/crypto';
import { API_KEY, DATABASES, type DatabaseKind, startApp, tempDir, waitFor } from './support/harness';
import { binaryBody } from './support/http-client';
import { databaseEnv } from './support/postgres';
import { startS3 } from './support/s3-server';

/**
 * Issue 18 on every kind of store and both engines: PUBLIC on S3 (s3rver), ONPREM and PRIVATE
 * on files. Uploads of several sizes, moves file <-> S3 and a tier change inside S3, rotated
 * per-location keys; then the catalog is lost (SQLite: the file deleted; PostgreSQL: a fresh
 * empty database) and `recover` rebuilds it from the stores alone.
 */
const key = { 'x-api-key': API_KEY };
const sha = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');
const BUCKET = 'dim-recover';

interface Expect {
  id: number;
  name: string;
  data: Buffer;
  tier: string;
  location: string;
}

// Several sizes at each kind of store: empty, under a chunk, a chunk, several chunks.
const UPLOADS: Array<{ size: number; tier: string; location: string }> = [
  { size: 0, tier: 'WARM', location: 'PUBLIC' },
  { size: 4095, tier: 'WARM', location: 'PUBLIC' },
  { size: 70_000, tier: 'HOT', location: 'PUBLIC' },
  { size: 1, tier: 'WARM', location: 'PRIVATE' },
  { size: 4096, tier: 'WARM', location: 'PRIVATE' },
  { size: 300_001, tier: 'HOT', location: 'ONPREM' },
  { size: 12_289, tier: 'COLD', location: 'ONPREM' },
];

describe.each(DATABASES)('recover on file and S3 stores (%s)', (database: DatabaseKind) => {
  const dir = tempDir('dim-recover-stores-');
  let s3: Awaited<ReturnType<typeof startS3>>;
  let env: Record<string, string>;
  const expected: Expect[] = [];
  let out: string[] = [];
  let write: jest.SpyInstance;

  beforeAll(async () => {
    s3 = await startS3();
    await s3.bucket(BUCKET);
    env = {
      DATA_DIR: dir,
      ENCRYPTION_KEY: generateMasterKey(),
      SCHEDULER_ENABLED: 'false',
      STORAGE_CHUNK_SIZE: '4096',
      MOVE_BANDWIDTH: '0',
      LOG_LEVEL: 'silent',
      ...s3.env('PUBLIC', BUCKET),
      ...(await databaseEnv(database)),
      ...(database === 'postgres'
        ? { STORE_ONPREM_SHARED: 'true', STORE_PRIVATE_SHARED: 'true', STORE_PUBLIC_SHARED: 'true' }
        : {}),
    };
  });
  afterAll(async () => {
    await s3?.stop();
  });
  beforeEach(() => {
    out = [];
    write = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      out.push(String(s));
      return true;
    });
  });
  afterEach(() => write.mockRestore());

  async function withApp(fn: (h: App['http']) => Promise<void>): Promise<void> {
    const s = await startApp(env, undefined, { database });
    try {
      await fn(s.app.http);
    } finally {
      await s.stop();
    }
  }

  async function moveAndWait(h: App['http'], e: Expect, tier: string, location: string): Promise<void> {
    const m = await request(h).post(`/api/datasets/${e.id}/moves`).set(key).send({ tier, location }).expect(202);
    const done = await waitFor(async () => {
      const r = (await request(h).get(`/api/migrations/${m.body.id}`).expect(200)).body;
      return ['done', 'failed', 'cancelled'].includes(r.state) ? r : undefined;
    }, `move ${m.body.id} to finish`);
    expect(done).toMatchObject({ state: 'done' });
    Object.assign(e, { tier, location });
  }

  /** Every expected dataset downloads with its SHA-256, at its placement. */
  async function checkAll(h: App['http']): Promise<void> {
    for (const e of expected) {
      const d = (await request(h).get(`/api/datasets/${e.id}`).set(key).expect(200)).body;
      expect(d).toMatchObject({ name: e.name, tier: e.tier, location: e.location });
      const r = await request(h)
        .get(`/api/datasets/${e.id}/content`)
        .set(key)
        .buffer(true)
        .parse(binaryBody)
        .expect(200);
      expect(sha(r.body as Buffer)).toBe(sha(e.data));
    }
  }

  /** The catalog lost: SQLite's file deleted, or a new empty PostgreSQL database. */
  async function dropCatalog(): Promise<void> {
    if (database === 'postgres') {
      env = { ...env, ...(await databaseEnv('postgres')) };
      return;
    }
    for (const f of ['data-in-motion.sqlite', 'data-in-motion.sqlite-wal', 'data-in-motion.sqlite-shm'])
      fs.rmSync(path.join(dir, f), { force: true });
  }

  test('when datasets on file and S3 stores were moved and their keys rotated and the catalog is lost, then recover brings every one back at its placement', async () => {
    await withApp(async (h) => {
      for (const [i, u] of UPLOADS.entries()) {
        const name = `${database}-${i}`;
        const body = { name, tier: u.tier, location: u.location };
        const id = (await request(h).post('/api/datasets').set(key).send(body).expect(201)).body.id as number;
        const data = crypto.randomBytes(u.size);
        await request(h)
          .put(`/api/datasets/${id}/content`)
          .set(key)
          .set('content-type', 'application/octet-stream')
          .send(data)
          .expect(200);
        expected.push({ id, name, data, tier: u.tier, location: u.location });
      }
      // S3 -> file, file -> S3, and a tier change inside S3 (a server-side copy).
      await moveAndWait(h, expected[1]!, 'COLD', 'ONPREM');
      await moveAndWait(h, expected[4]!, 'WARM', 'PUBLIC');
      await moveAndWait(h, expected[2]!, 'COLD', 'PUBLIC');
      await request(h).post('/api/keys/rotate').set(key).send({}).expect(200);
      // Written after the rotation: under the new key versions, on both kinds of store.
      await moveAndWait(h, expected[5]!, 'WARM', 'PUBLIC');
      await moveAndWait(h, expected[0]!, 'HOT', 'PRIVATE');
      await checkAll(h);
    });
    // PUBLIC's three objects are in the bucket, one per dataset there, each under its tier.
    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    const inBucket = (listed.Contents ?? []).map((o) => o.Key!.split('/')[1]).sort();
    expect(inBucket).toEqual(['COLD', 'WARM', 'WARM']);
    await dropCatalog();

    expect(await recover({ dryRun: false, json: false }, env)).toBe(0);
    const printed = out.join('');
    expect(printed).toContain(`${UPLOADS.length} objects in the stores`);
    expect(printed).toContain(`added: ${UPLOADS.length}`);
    expect(printed).toContain('Statistics and decisions are not in the objects');
    expect(printed).toContain('rotate again where that matters');

    await withApp(async (h) => {
      await checkAll(h);
      const keys = (await request(h).get('/api/keys').set(key).expect(200)).body as Array<Record<string, unknown>>;
      // Where an object was written under the rotated key (a file store and S3), that version
      // stays current. ONPREM has none: its rotation lived only in the lost catalog.
      expect(keys).toEqual(
        expect.arrayContaining(
          ['PRIVATE', 'PUBLIC'].map((location) => expect.objectContaining({ location, current_version: 2 })),
        ),
      );
      // The catalog works on after the rebuild: a move out of S3 and back in.
      await moveAndWait(h, expected[2]!, 'HOT', 'PRIVATE');
      await moveAndWait(h, expected[2]!, 'WARM', 'PUBLIC');
      await checkAll(h);
    });
    out = [];
    expect(await recover({ dryRun: false, json: true }, env)).toBe(0);
    const again = JSON.parse(out.join('')) as { matched: number; findings: unknown[] };
    expect(again).toMatchObject({ matched: UPLOADS.length, findings: [] });
  }, 60_000);

  test("when one S3 object's key field is damaged and the catalog is lost, then recover reports that object and recovers the rest", async () => {
    const hurt = expected[4]!;
    let objectKey = '';
    await withApp(async (h) => {
      const d = (await request(h).get(`/api/datasets/${hurt.id}`).set(key).expect(200)).body;
      objectKey = `dim/${hurt.tier}/${String(d.location_uri).split('/').pop()}.enc`;
    });
    const got = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: objectKey }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    // In the wrapped data key: prefix (32), nonce (12), key id length (2), "PUBLIC:v1" (9), wrapped length (2).
    const at = 32 + 12 + 2 + 9 + 2 + 20;
    const put = (b: Buffer): Promise<unknown> =>
      s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: objectKey, Body: b }));
    bytes[at] = bytes[at]! ^ 0x40;
    await put(bytes);
    await dropCatalog();

    expect(await recover({ dryRun: false, json: true }, env)).toBe(1);
    const report = JSON.parse(out.join('')) as { findings: Array<Record<string, unknown>> };
    const unreadable = report.findings.filter((f) => f.action === 'unreadable');
    expect(unreadable).toHaveLength(1);
    expect(String(unreadable[0]!.object)).toContain(objectKey);
    expect(unreadable[0]!.detail).toMatch(/does not unwrap/);
    expect(report.findings.filter((f) => f.action === 'added')).toHaveLength(UPLOADS.length - 1);
    const rest = expected.filter((e) => e !== hurt);
    expected.splice(0, expected.length, ...rest);
    await withApp(async (h) => {
      await checkAll(h);
      await request(h).get(`/api/datasets/${hurt.id}`).set(key).expect(404);
    });
    bytes[at] = bytes[at] ^ 0x40;
    await put(bytes);
  }, 30_000);
});
