import crypto from 'node:crypto';
import {
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  RestoreObjectCommand,
  type RestoreObjectCommandInput,
  S3Client,
} from '@aws-sdk/client-s3';
import request from 'supertest';
import { API_KEY, startApp, tempDir, waitFor } from './support/harness';
import { binaryBody } from './support/http-client';
import { startS3 } from './support/s3-server';
import { signIn, startWebApp } from './support/web-harness';

const key = { 'x-api-key': API_KEY };
const BUCKET = 'dim-restore';
const sha = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');

/**
 * The archive's side of a restore, played over a real s3rver. s3rver cannot restore (it keeps
 * no archive classes and has no RestoreObject), so the S3 client's HeadObject answers for COLD
 * objects are rewritten as AWS gives them for GLACIER (class, and the Restore header for the
 * restore's state), and RestoreObject is recorded here instead of sent. The bytes are s3rver's.
 */
const archive = {
  on: false,
  restore: 'none' as 'none' | 'ongoing' | 'done',
  failWith: undefined as string | undefined,
  restores: [] as RestoreObjectCommandInput[],
};

type Send = (this: S3Client, ...args: unknown[]) => Promise<unknown>;
// eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the client as `this`
const realSend = S3Client.prototype.send as unknown as Send;
beforeAll(() => {
  const send: Send = async function (this: S3Client, ...args: unknown[]) {
    const cmd = args[0];
    if (archive.on && cmd instanceof RestoreObjectCommand) {
      archive.restores.push(cmd.input);
      if (archive.failWith) throw Object.assign(new Error(archive.failWith), { name: 'InvalidObjectState' });
      if (archive.restore === 'none') archive.restore = 'ongoing';
      return {};
    }
    const out = (await realSend.apply(this, args)) as HeadObjectCommandOutput;
    // s3rver keeps the class given at PUT through a CopyObject that asks for another: the tier
    // change's copy is reported in the class it asked for, as AWS would.
    if (archive.on && cmd instanceof HeadObjectCommand && cmd.input.Key?.includes('/WARM/'))
      out.StorageClass = 'STANDARD_IA';
    if (archive.on && cmd instanceof HeadObjectCommand && cmd.input.Key?.includes('/COLD/')) {
      out.StorageClass = 'GLACIER';
      if (archive.restore === 'ongoing') out.Restore = 'ongoing-request="true"';
      if (archive.restore === 'done')
        out.Restore = `ongoing-request="false", expiry-date="${new Date(Date.now() + 86_400_000).toUTCString()}"`;
    }
    return out;
  };
  // send() also has a callback overload that returns void; the product calls the promise one only.
  // eslint-disable-next-line @typescript-eslint/no-misused-promises
  jest.spyOn(S3Client.prototype, 'send').mockImplementation(send);
});
afterAll(() => jest.restoreAllMocks());

describe('a move out of a class that must be restored first (GLACIER, faked over s3rver)', () => {
  let s3: Awaited<ReturnType<typeof startS3>>;

  beforeAll(async () => {
    s3 = await startS3();
    await s3.bucket(BUCKET);
  });
  afterAll(async () => {
    await s3?.stop();
  });
  beforeEach(() => {
    Object.assign(archive, { on: false, restore: 'none', failWith: undefined, restores: [] });
  });

  const envOf = (dir: string): Record<string, string> => ({
    DATA_DIR: dir,
    MOVE_BANDWIDTH: '0',
    ...s3.env('PUBLIC', BUCKET, `p-${crypto.randomBytes(4).toString('hex')}`),
    STORE_PUBLIC_CLASSES: 'HOT:STANDARD,WARM:STANDARD_IA,COLD:GLACIER',
  });

  async function coldDataset(http: Parameters<typeof request>[0], data: Buffer): Promise<number> {
    const c = await request(http)
      .post('/api/datasets')
      .set(key)
      .send({ name: `cold-${crypto.randomBytes(3).toString('hex')}`, location: 'PUBLIC', tier: 'COLD' })
      .expect(201);
    await request(http)
      .put(`/api/datasets/${c.body.id}/content`)
      .set(key)
      .set('content-type', 'application/octet-stream')
      .send(data)
      .expect(200);
    return c.body.id as number;
  }

  test('when the source is archived, then the move starts the restore, waits queued (across a restart) and moves once the copy is readable', async () => {
    const dir = tempDir('dim-restore-move-');
    const env = { ...envOf(dir), LOG_LEVEL: 'silent' };
    let s = await startApp(env);
    try {
      const data = crypto.randomBytes(300_000);
      const id = await coldDataset(s.app.http, data);
      archive.on = true;
      const m = await request(s.app.http)
        .post(`/api/datasets/${id}/moves`)
        .set(key)
        .send({ tier: 'WARM', location: 'PUBLIC' })
        .expect(202);
      const waiting = await waitFor(
        async () => {
          const r = (await request(s.app.http).get(`/api/migrations/${m.body.id}`).expect(200)).body;
          return r.waiting ? r : undefined;
        },
        'the move to wait for the restore',
        15_000,
        20,
      );
      expect(waiting.state).toBe('planned');
      expect(waiting.waiting).toMatch(/^waiting for restore, ready about \d{4}-\d\d-\d\dT/);
      expect(Date.parse(waiting.restore_ready_at as string)).toBeGreaterThan(Date.now() + 4 * 3_600_000);
      expect(archive.restores).toEqual([
        expect.objectContaining({ RestoreRequest: { Days: 2, GlacierJobParameters: { Tier: 'Standard' } } }),
      ]);
      // Nothing runs for it meanwhile: no worker, no copy.
      expect(waiting.started_at).toBeNull();
      const row = await s.app.database.db
        .selectFrom('moves')
        .select(['next_check_at', 'claimed_until'])
        .where('id', '=', m.body.id)
        .executeTakeFirstOrThrow();
      expect(Number(row.next_check_at)).toBeGreaterThan(Date.now());
      expect(row.claimed_until).toBeNull();

      // The wait is the database's, not the process's.
      await s.stop();
      s = await startApp(env);
      const after = (await request(s.app.http).get(`/api/migrations/${m.body.id}`).expect(200)).body;
      expect(after).toMatchObject({ state: 'planned', waiting: waiting.waiting });

      // A look while the restore still runs asks for no second one.
      await s.app.database.db.updateTable('moves').set({ next_check_at: Date.now() }).execute();
      await waitFor(
        async () =>
          Number(
            (
              await s.app.database.db
                .selectFrom('moves')
                .select('next_check_at')
                .where('id', '=', m.body.id)
                .executeTakeFirstOrThrow()
            ).next_check_at,
          ) > Date.now(),
        'the next look to be planned',
        15_000,
        20,
      );
      expect(archive.restores).toHaveLength(1);

      // The restored copy is there: at the next look, the move runs.
      archive.restore = 'done';
      await s.app.database.db.updateTable('moves').set({ next_check_at: Date.now() }).execute();
      const done = await waitFor(
        async () => {
          const r = (await request(s.app.http).get(`/api/migrations/${m.body.id}`).expect(200)).body;
          return r.state === 'done' || r.state === 'failed' ? r : undefined;
        },
        'the move to finish',
        30_000,
        20,
      );
      expect(done).toMatchObject({ state: 'done', copy: 'server', waiting: null, error: null });
      const dl = await request(s.app.http)
        .get(`/api/datasets/${id}/content`)
        .buffer(true)
        .parse(binaryBody)
        .expect(200);
      expect(sha(dl.body as Buffer)).toBe(sha(data));
    } finally {
      await s.stop();
    }
  }, 90_000);

  test('when a move waits for a restore, then the moves page shows it waiting, with when the copy should be ready, and it can be cancelled', async () => {
    const web = await startWebApp(envOf(tempDir('dim-restore-page-')));
    try {
      const id = await coldDataset(web.app.http, crypto.randomBytes(10_000));
      archive.on = true;
      const m = await request(web.app.http)
        .post(`/api/datasets/${id}/moves`)
        .set(key)
        .send({ tier: 'HOT', location: 'ONPREM' })
        .expect(202);
      const waiting = await waitFor(
        async () => (await request(web.app.http).get(`/api/migrations/${m.body.id}`).expect(200)).body.waiting,
        'the move to wait for the restore',
        15_000,
        20,
      );
      const { cookie } = await signIn(web.base, web.admin.username, web.admin.password);
      const live = await (await fetch(`${web.base}/moves/parts/live`, { headers: { cookie } })).text();
      expect(live).toContain(`<td>${waiting as string}</td>`);
      // Waiting holds nothing: it can be cancelled like any planned move.
      const cancelled = await request(web.app.http).delete(`/api/migrations/${m.body.id}`).set(key).expect(200);
      expect(cancelled.body).toMatchObject({ state: 'cancelled', waiting: null });
    } finally {
      await web.stop();
    }
  }, 60_000);

  test('when the restore cannot be started, then the move fails saying so and the dataset stays', async () => {
    const s = await startApp(envOf(tempDir('dim-restore-fail-')));
    try {
      const id = await coldDataset(s.app.http, crypto.randomBytes(10_000));
      Object.assign(archive, { on: true, failWith: 'Restore is not allowed for the object' });
      const m = await request(s.app.http)
        .post(`/api/datasets/${id}/moves`)
        .set(key)
        .send({ tier: 'HOT', location: 'ONPREM' })
        .expect(202);
      const failed = await waitFor(
        async () => {
          const r = (await request(s.app.http).get(`/api/migrations/${m.body.id}`).expect(200)).body;
          return r.state === 'failed' ? r : undefined;
        },
        'the move to fail',
        15_000,
        20,
      );
      expect(failed.error).toMatch(
        /^the restore of the source \(GLACIER\) could not be started: Restore is not allowed for the object; the object stays where it is$/,
      );
      const d = (await request(s.app.http).get(`/api/datasets/${id}`).expect(200)).body;
      expect(d).toMatchObject({ current_tier: 'COLD', storage_type: 'PUBLIC' });
      // The prices know the class: a read there waits for a restore (an endpoint: the fees stay the catalog's).
      const catalog = (await request(s.app.http).get('/api/catalog').expect(200)).body;
      expect(catalog.storage_classes['PUBLIC/COLD']).toEqual({
        storage_class: 'GLACIER',
        restore_hours: 5,
        retrieval_per_gb: 0.03,
        first_byte_ms: 5 * 3_600_000,
      });
      expect(catalog.storage_classes['ONPREM/COLD']).toBeUndefined();
    } finally {
      await s.stop();
    }
  }, 60_000);
});
