import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DATABASES, databaseEnvFor, tempDir } from './support/harness';
import { startWebApp, type WebApp } from './support/web-harness';

/**
 * Alert posts outlive the process (an outbox table, issue 15): a post the receiver refused is
 * delivered by the next start; on PostgreSQL one instance delivers; closed alerts are pruned.
 */

interface Posted {
  event: string;
  alert: { id: number; key: string };
}

/** A local receiver that refuses (503) until `accept` is set, answering after `delayMs`; keeps what it accepted. */
async function receiver(): Promise<{
  url: string;
  got: Posted[];
  attempts: number;
  accept: boolean;
  delayMs: number;
  deliveryIds: string[];
  close(): Promise<void>;
}> {
  const state = { got: [] as Posted[], attempts: 0, accept: false, delayMs: 0, deliveryIds: [] as string[] };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      state.attempts++;
      state.deliveryIds.push(String(req.headers['x-delivery-id']));
      if (!state.accept) return void res.writeHead(503).end();
      state.got.push(JSON.parse(body) as Posted);
      setTimeout(() => res.writeHead(204).end(), state.delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return Object.assign(state, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}

async function until<T>(fn: () => Promise<T> | T, what: string, ms = 20_000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const failedMove = (datasetId: number, now: number) => ({
  dataset_id: datasetId,
  from_tier: 'WARM' as const,
  from_location: 'PRIVATE' as const,
  to_tier: 'COLD' as const,
  to_location: 'PUBLIC' as const,
  state: 'failed' as const,
  reason: 'manual',
  catalog_only: 1,
  bytes_total: 0,
  bytes_done: 0,
  error: 'disk on fire',
  created_at: now,
  finished_at: now,
});

describe.each(DATABASES)('alert delivery and retention, on %s', (database) => {
  let hook: Awaited<ReturnType<typeof receiver>>;
  const apps: WebApp[] = [];
  const start = async (dir: string, env: Record<string, string> = {}) => {
    const w = await startWebApp({
      DATA_DIR: dir,
      ...(await databaseEnvFor(dir, database)),
      ALERT_WEBHOOK_URL: hook.url,
      ALERT_CHECK_INTERVAL: '100ms',
      ...env,
    });
    apps.push(w);
    return w;
  };
  const stop = async (w: WebApp) => {
    await w.stop();
    apps.splice(apps.indexOf(w), 1);
  };

  beforeEach(async () => {
    hook = await receiver();
  });
  afterEach(async () => {
    for (const w of apps.splice(0)) await w.stop();
    await hook.close();
  });

  test('when the receiver refuses a post until the app has stopped, then the next start delivers it', async () => {
    const dir = tempDir('dim-outbox-');
    let w = await start(dir);
    const ds = (await (
      await fetch(`${w.base}/api/datasets`, {
        method: 'POST',
        headers: { 'x-api-key': w.app.config.apiKey!, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'a' }),
      })
    ).json()) as { id: number };
    await w.app.database.db.insertInto('moves').values(failedMove(ds.id, Date.now())).execute();
    await until(() => hook.attempts >= 1, 'a first (refused) attempt');
    const waiting = await w.app.database.db.selectFrom('alert_outbox').selectAll().execute();
    expect(waiting).toHaveLength(1);
    expect(JSON.parse(waiting[0]!.body)).toMatchObject({ event: 'alert.opened', alert: { key: 'moves.failed' } });
    const alertId = (JSON.parse(waiting[0]!.body) as Posted).alert.id;
    await stop(w);
    expect(hook.got).toEqual([]);

    hook.accept = true;
    w = await start(dir);
    const posted = await until(() => hook.got.find((p) => p.event === 'alert.opened'), 'the post after the restart');
    expect(posted.alert).toMatchObject({ id: alertId, key: 'moves.failed' });
    await until(
      async () =>
        Number(
          (
            await w.app.database.db
              .selectFrom('alert_outbox')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        ) === 0,
      'the outbox to empty',
    );
    // The alert was still open in the database: the restart posted the old message, not a new alert.
    expect(hook.got.filter((p) => p.event === 'alert.opened')).toHaveLength(1);
    // Every attempt, before and after the restart, carried the same delivery id (a receiver can drop repeats).
    expect(new Set(hook.deliveryIds)).toEqual(new Set([String(waiting[0]!.id)]));
  });

  test('when closed alerts are older than ALERT_RETENTION or beyond ALERT_MAX_ROWS, then they are deleted, open ones and the latest acknowledgement of a kind kept', async () => {
    hook.accept = true;
    const dir = tempDir('dim-retention-');
    let w = await start(dir, { ALERT_RETENTION: '1d', ALERT_MAX_ROWS: '100' });
    const db = w.app.database.db;
    const DAY = 86_400_000;
    const now = Date.now();
    const alert = (key: string, closedDaysAgo: number | null, acknowledged: boolean, watermark = 0) => ({
      key,
      severity: 'warning' as const,
      title: key,
      detail: 'seeded',
      watermark,
      opened_at: now - 40 * DAY,
      closed_at: closedDaysAgo === null ? null : now - closedDaysAgo * DAY,
      acknowledged_at: acknowledged ? now - 40 * DAY : null,
      acknowledged_by: acknowledged ? 'user:admin' : null,
    });
    const ids = async (rows: ReturnType<typeof alert>[]) =>
      (await db.insertInto('alerts').values(rows).returning('id').execute()).map((r) => Number(r.id));
    const [olderAck] = await ids([alert('moves.failed', 20, true, 3)]);
    const [latestAck] = await ids([alert('moves.failed', 10, true, 5)]);
    const [oldClosed] = await ids([alert('consumer.lag', 5, false)]);
    const [openOld] = await ids([alert('check:seeded', null, true)]);
    // 120 closed within the day: past the cap of 100 rows, the oldest of them go.
    const recent = await ids(Array.from({ length: 120 }, (_, i) => alert(`recent.${i}`, 0.5 - i / 1000, false)));
    // The first start's checks may have run already (retention runs at the first check, then hourly): start again.
    await stop(w);
    w = await start(dir, { ALERT_RETENTION: '1d', ALERT_MAX_ROWS: '100' });
    const left = async () =>
      new Set((await w.app.database.db.selectFrom('alerts').select('id').execute()).map((r) => Number(r.id)));
    await until(async () => !(await left()).has(oldClosed!), 'the retention to run');
    await until(async () => (await left()).size <= 100, 'the cap to hold');
    const kept = await left();
    expect(kept.has(olderAck!)).toBe(false);
    expect(kept.has(latestAck!)).toBe(true); // its watermark keeps the covered failures from alerting again
    expect(kept.has(openOld!)).toBe(true); // closed by the check just now: within the retention
    expect(kept.size).toBe(100);
    // Of the recent ones, those closed last stay; those closed first went.
    expect(kept.has(recent[119]!)).toBe(true);
    expect(kept.has(recent[0]!)).toBe(false);
  });

  if (database === 'postgres')
    test('when two instances share the database, then one of them delivers and each post arrives once', async () => {
      hook.accept = true;
      // Delivery takes longer than an idle instance's look at the outbox (5 s): without the lease the
      // other instance would post the same messages while the first is still at it.
      hook.delayMs = 150;
      const shared = {
        ENCRYPTION_KEY: crypto.randomBytes(32).toString('hex'),
        SESSION_SECRET: crypto.randomBytes(32).toString('hex'),
      };
      const a = await start(tempDir('dim-outbox-a-'), shared);
      const env = await databaseEnvFor(a.dir, 'postgres');
      const b = await start(tempDir('dim-outbox-b-'), { ...shared, ...env });
      const now = Date.now();
      await a.app.database.db
        .insertInto('alert_outbox')
        .values(
          Array.from({ length: 40 }, (_, i) => ({
            body: JSON.stringify({ event: 'alert.opened', alert: { id: 1000 + i, key: `k${i}` } }),
            created_at: now,
            next_at: now,
            last_error: null,
          })),
        )
        .execute();
      await until(() => hook.got.length >= 40, '40 posts', 30_000);
      await new Promise((r) => setTimeout(r, 1_000));
      expect(hook.got.map((p) => p.alert.id)).toEqual(Array.from({ length: 40 }, (_, i) => 1000 + i));
      expect(hook.attempts).toBe(40);
      expect(b.app.instance).not.toBe(a.app.instance);
    });

  if (database === 'postgres')
    test('when two instances share the database, then one of them checks and a failed move opens one alert, posted once', async () => {
      hook.accept = true;
      const shared = {
        ENCRYPTION_KEY: crypto.randomBytes(32).toString('hex'),
        SESSION_SECRET: crypto.randomBytes(32).toString('hex'),
      };
      const a = await start(tempDir('dim-alerts-a-'), shared);
      const env = await databaseEnvFor(a.dir, 'postgres');
      const b = await start(tempDir('dim-alerts-b-'), { ...shared, ...env });
      const db = a.app.database.db;
      const ds = (await (
        await fetch(`${a.base}/api/datasets`, {
          method: 'POST',
          headers: { 'x-api-key': a.app.config.apiKey!, 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'failing' }),
        })
      ).json()) as { id: number };
      // Several failures over a few checks: each check of each instance sees a new watermark.
      for (let i = 0; i < 5; i++) {
        await db.insertInto('moves').values(failedMove(ds.id, Date.now())).execute();
        await new Promise((r) => setTimeout(r, 150));
      }
      await until(() => hook.got.some((p) => p.event === 'alert.opened' && p.alert.key === 'moves.failed'), 'the post');
      await new Promise((r) => setTimeout(r, 1_000));
      const rows = await db.selectFrom('alerts').select(['id', 'key']).where('key', '=', 'moves.failed').execute();
      expect(rows).toHaveLength(1);
      expect(hook.got.filter((p) => p.event === 'alert.opened' && p.alert.key === 'moves.failed')).toHaveLength(1);
      expect(b.app.instance).not.toBe(a.app.instance);
    });
});
