import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { API_KEY } from './support/harness';
import { startS3 } from './support/s3-server';
import { signIn, startWebApp, type Signed, type WebApp } from './support/web-harness';

const key = { 'x-api-key': API_KEY, 'content-type': 'application/json' };

interface Posted {
  event: string;
  alert: { id: number; key: string; title: string; closed_at: string | null };
}

/** A local webhook receiver: answers 500 to the first `failFirst` posts, then 204; keeps what it accepted. */
async function receiver(
  failFirst: number,
): Promise<{ url: string; got: Posted[]; attempts: number; close(): Promise<void> }> {
  const state = { got: [] as Posted[], attempts: 0 };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      state.attempts++;
      if (state.attempts <= failFirst) return void res.writeHead(500).end();
      state.got.push(JSON.parse(body) as Posted);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    get got() {
      return state.got;
    },
    get attempts() {
      return state.attempts;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function until<T>(fn: () => Promise<T> | T, what: string, ms = 15_000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('alerts: opened and closed, posted to a webhook, acknowledged by operators', () => {
  let w: WebApp;
  let hook: Awaited<ReturnType<typeof receiver>>;
  let op: Signed;
  let datasetId: number;

  beforeAll(async () => {
    hook = await receiver(1);
    w = await startWebApp({ ALERT_WEBHOOK_URL: hook.url, ALERT_CHECK_INTERVAL: '100ms' });
    op = await signIn(w.base, w.admin.username, w.admin.password);
    const r = await fetch(`${w.base}/api/datasets`, {
      method: 'POST',
      headers: key,
      body: JSON.stringify({ name: 'a' }),
    });
    datasetId = ((await r.json()) as { id: number }).id;
  });
  afterAll(async () => {
    await w?.stop();
    await hook?.close();
  });

  const failMove = async (error: string): Promise<void> => {
    const now = Date.now();
    await w.app.database.db
      .insertInto('moves')
      .values({
        dataset_id: datasetId,
        from_tier: 'WARM',
        from_location: 'PRIVATE',
        to_tier: 'COLD',
        to_location: 'PUBLIC',
        state: 'failed',
        reason: 'manual',
        catalog_only: 1,
        bytes_total: 0,
        bytes_done: 0,
        error,
        created_at: now,
        finished_at: now,
      })
      .execute();
  };
  const openAlerts = async () =>
    (await (await fetch(`${w.base}/api/alerts`)).json()) as {
      id: number;
      key: string;
      title: string;
      acknowledged_at: string | null;
    }[];

  test('when a move fails, then an alert opens, shows in the notifications area and is posted once (retried after a 500)', async () => {
    await failMove('disk on fire');
    const [a] = await until(async () => {
      const open = await openAlerts();
      return open.length > 0 ? open : undefined;
    }, 'the alert to open');
    expect(a).toMatchObject({ key: 'moves.failed', title: '1 move failed', acknowledged_at: null });
    const posted = await until(() => hook.got.find((p) => p.event === 'alert.opened'), 'the webhook post');
    expect(posted.alert).toMatchObject({ id: a!.id, key: 'moves.failed', closed_at: null });
    expect(hook.attempts).toBe(2); // the first answered 500
    const part = await (await fetch(`${w.base}/parts/notifications`, { headers: { cookie: op.cookie } })).text();
    expect(part).toContain('1 move failed');
    expect(part).toContain('disk on fire');
    expect(part).toContain(`hx-post="/alerts/${a!.id}/acknowledge"`);
    // Another failure updates the open alert; nothing new is posted.
    await failMove('again');
    await until(async () => (await openAlerts())[0]?.title === '2 moves failed', 'the count to update');
    expect(hook.got.filter((p) => p.event === 'alert.opened')).toHaveLength(1);
  });

  test('when an operator acknowledges it, then it closes (posted once), and only a new failure opens a new one', async () => {
    const [a] = await openAlerts();
    const res = await fetch(`${w.base}/alerts/${a!.id}/acknowledge`, {
      method: 'POST',
      headers: { origin: w.base, cookie: op.cookie, 'x-csrf-token': op.csrf },
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(`Alert ${a!.id} acknowledged and closed`);
    await until(
      () => hook.got.find((p) => p.event === 'alert.closed' && p.alert.id === a!.id),
      'the close to be posted',
    );
    // Checks keep running: the acknowledged failures do not open it again.
    const checksBefore = hook.attempts;
    await new Promise((r) => setTimeout(r, 400));
    expect(await openAlerts()).toEqual([]);
    expect(hook.attempts).toBe(checksBefore);
    // Acknowledging it twice is a conflict.
    const again = await fetch(`${w.base}/api/alerts/${a!.id}/acknowledge`, { method: 'POST', headers: key });
    expect(again.status).toBe(409);
    await failMove('a third time');
    const [b] = await until(async () => {
      const open = await openAlerts();
      return open.length > 0 ? open : undefined;
    }, 'a new alert');
    expect(b!.id).not.toBe(a!.id);
    expect(b!.title).toBe('1 move failed');
    const all = (await (await fetch(`${w.base}/api/alerts?state=all`)).json()) as {
      id: number;
      acknowledged_by: string | null;
    }[];
    expect(all.find((x) => x.id === a!.id)?.acknowledged_by).toBe(`user:${w.admin.username}`);
  });

  test('when the stream has a gap, then an alert opens, and acknowledging it acknowledges the gap', async () => {
    await w.app.database.db
      .insertInto('stream_gaps')
      .values({ topic: 'dataset-events', partition: 0, from_offset: 10, to_offset: 15, detected_at: Date.now() })
      .execute();
    const gap = await until(async () => (await openAlerts()).find((x) => x.key === 'stream.gap'), 'the gap alert');
    expect(gap.title).toBe('1 gap in the stream');
    const r = await fetch(`${w.base}/api/alerts/${gap.id}/acknowledge`, { method: 'POST', headers: key });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { closed_at: string | null }).closed_at).not.toBeNull();
    const left = await w.app.database.db.selectFrom('stream_gaps').select('acknowledged_by').executeTakeFirstOrThrow();
    expect(left.acknowledged_by).toMatch(/^key:/);
    await until(
      () => hook.got.find((p) => p.event === 'alert.closed' && p.alert.key === 'stream.gap'),
      'the gap close',
    );
  });

  test('when an integrity failure is recorded, then a critical alert opens', async () => {
    await w.app.database.db
      .insertInto('integrity_failures')
      .values({
        dataset_id: datasetId,
        object_id: 'o1',
        found_by: 'scrub',
        detail: 'chunk 3 failed authentication',
        at: Date.now(),
      })
      .execute();
    const a = await until(
      async () => (await openAlerts()).find((x) => x.key === 'integrity.failed'),
      'the integrity alert',
    );
    expect(a.title).toBe('1 integrity failure');
    await until(
      () => hook.got.find((p) => p.event === 'alert.opened' && p.alert.key === 'integrity.failed'),
      'its post',
    );
  });
});

describe('alerts: an unreachable store', () => {
  test('when an S3 store stops answering, then a critical alert names it in the notifications area and is posted', async () => {
    const s3 = await startS3();
    const hook = await receiver(0);
    let w: WebApp | undefined;
    let s3Up = true;
    try {
      await s3.bucket('alerts');
      w = await startWebApp({
        ...s3.env('PUBLIC', 'alerts'),
        ALERT_WEBHOOK_URL: hook.url,
        ALERT_CHECK_INTERVAL: '100ms',
      });
      const op = await signIn(w.base, w.admin.username, w.admin.password);
      expect(await (await fetch(`${w.base}/api/alerts`)).json()).toEqual([]);
      s3Up = false;
      await s3.stop();
      const posted = await until(
        () => hook.got.find((p) => p.event === 'alert.opened' && p.alert.key === 'check:store.PUBLIC'),
        'the store alert to be posted',
        30_000,
      );
      expect(posted.alert.title).toMatch(/store\.PUBLIC/);
      const part = await (await fetch(`${w.base}/parts/notifications`, { headers: { cookie: op.cookie } })).text();
      expect(part).toContain('store.PUBLIC');
      expect(part).toMatch(/127\.0\.0\.1|ECONNREFUSED|connect/);
    } finally {
      await w?.stop();
      if (s3Up) await s3.stop();
      await hook.close();
    }
  });
});
