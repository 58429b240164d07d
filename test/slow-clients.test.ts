import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { parseConfig } from '../src/config';
import { createLogger } from '../src/platform/logger';
import { createHttpServer } from '../src/web/http-timeouts';
import { API_KEY, startServer, waitFor } from './support/harness';
import { call } from './support/http-client';

const HEADERS_TIMEOUT_MS = 1_000;
const IDLE_TIMEOUT_MS = 1_000;

/** A raw connection: everything the server sends, and when it closed the connection. */
function connect(port: number): { socket: net.Socket; closed: Promise<{ text: string; at: number }> } {
  const socket = net.connect(port, '127.0.0.1');
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('error', () => undefined); // a reset after the answer is the point of some tests
  const closed = new Promise<{ text: string; at: number }>((resolve) =>
    socket.on('close', () => resolve({ text, at: Date.now() })),
  );
  return { socket, closed };
}

function head(method: string, url: string, headers: Record<string, string | number>): string {
  return `${method} ${url} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: ${API_KEY}\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}

function tmpFiles(dir: string): string[] {
  return (fs.readdirSync(path.join(dir, 'tiers'), { recursive: true }) as string[]).filter((f) =>
    path.basename(f).startsWith('.tmp-'),
  );
}

async function upload(url: string, id: number, bytes: Buffer): Promise<void> {
  const r = await fetch(`${url}/api/datasets/${id}/content`, {
    method: 'PUT',
    headers: { 'x-api-key': API_KEY, 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  expect(r.status).toBe(200);
}

const sha = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');

describe('slow clients and request timeouts', () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    s = await startServer({
      HEADERS_TIMEOUT: `${HEADERS_TIMEOUT_MS}ms`,
      REQUEST_IDLE_TIMEOUT: `${IDLE_TIMEOUT_MS}ms`,
      SCHEDULER_ENABLED: 'false',
      LOG_LEVEL: process.env.DEBUG_LOG ?? 'silent',
    });
  });
  afterAll(async () => {
    await s?.stop();
  });

  test('when HEADERS_TIMEOUT or REQUEST_IDLE_TIMEOUT is out of bounds, then the config is refused naming the variable; by default both are a minute', () => {
    expect(() => parseConfig({ HEADERS_TIMEOUT: '50ms' })).toThrow(/^HEADERS_TIMEOUT: must be between 100ms and 1h/);
    expect(() => parseConfig({ REQUEST_IDLE_TIMEOUT: '2h' })).toThrow(
      /^REQUEST_IDLE_TIMEOUT: must be between 100ms and 1h/,
    );
    expect(() => parseConfig({ REQUEST_IDLE_TIMEOUT: 'soon' })).toThrow(/^REQUEST_IDLE_TIMEOUT: must be a duration/);
    expect(parseConfig({}).http).toEqual({ headersTimeoutMs: 60_000, idleTimeoutMs: 60_000 });
  });

  test.each([
    ['POST', '/api/datasets', 'application/json'],
    ['POST', '/api/datasets', 'multipart/form-data; boundary=x'],
    ['PUT', '/api/datasets/1/content', 'application/octet-stream'],
    ['POST', '/api/events', 'application/json'],
    ['POST', '/api/tokens', 'application/json'],
  ])(
    'when an anonymous client starts a large %s %s (%s), then it gets 401 before any body is read and the connection closes',
    async (method, url, type) => {
      const { socket, closed } = connect(s.port);
      // A 300 MiB body announced, none of it sent: the answer must not wait for it.
      socket.write(
        `${method} ${url} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${type}\r\nContent-Length: ${300 * 1024 * 1024}\r\n\r\n`,
      );
      // A slow trickle of body bytes: an anonymous caller must not hold the line with it.
      const trickle = setInterval(() => socket.writable && socket.write('x'), 50);
      try {
        const { text } = await closed;
        expect(text).toMatch(/^HTTP\/1\.1 401 /);
        expect(text.toLowerCase()).toContain('connection: close');
      } finally {
        clearInterval(trickle);
      }
    },
  );

  test('when a key lacks the scope for a write, then it gets 403 before its body is read', async () => {
    const reader = await call(s.url, 'POST', '/api/api-keys', { name: 'reader', scopes: ['read'] });
    const { socket, closed } = connect(s.port);
    socket.write(
      `POST /api/datasets HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: ${reader.body.key}\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n`,
    );
    const { text } = await closed;
    expect(text).toMatch(/^HTTP\/1\.1 403 /);
    expect(text).toContain('datasets:write');
  });

  test('when a client trickles its request head (slowloris), then it gets 408 and the connection closes once the head timeout passes, however busy it keeps the line', async () => {
    const { socket, closed } = connect(s.port);
    const started = Date.now();
    socket.write('POST /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    // A byte every 100 ms: never idle, so only the head timeout can end it.
    const trickle = setInterval(() => socket.writable && socket.write('a'), 100);
    try {
      const { text, at } = await closed;
      expect(text).toMatch(/^HTTP\/1\.1 408 /);
      expect(at - started).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
      expect(at - started).toBeLessThan(HEADERS_TIMEOUT_MS + 2_000);
    } finally {
      clearInterval(trickle);
    }
    expect((await call(s.url, 'GET', '/healthz')).status).toBe(200);
  });

  test('when a client sends part of a request head and goes silent, then it gets 408 and the connection closes', async () => {
    const { socket, closed } = connect(s.port);
    const started = Date.now();
    socket.write('GET /api/datasets HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const { text, at } = await closed;
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(at - started).toBeLessThan(Math.max(HEADERS_TIMEOUT_MS, IDLE_TIMEOUT_MS) + 2_000);
  });

  test('when an event batch stops halfway through its body, then the client gets 408 saying why and no event of it is applied', async () => {
    const id = (await call(s.url, 'POST', '/api/datasets', { name: 'half-batch' })).body.id as number;
    const body = JSON.stringify(
      Array.from({ length: 200 }, (_, i) => ({ id: `half-${i}`, dataset_id: id, type: 'read' })),
    );
    const { socket, closed } = connect(s.port);
    socket.write(
      head('POST', '/api/events', { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }),
    );
    socket.write(body.slice(0, Math.floor(body.length / 2)));
    const { text } = await closed;
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toMatch(/connection: close/i);
    expect(text).toMatch(
      /"detail":"request: no data received for 1000 ms before the body was complete; nothing of it was accepted"/,
    );

    // A marker sent after it is applied alone: nothing of the half batch slipped in before it.
    expect((await call(s.url, 'POST', '/api/events', { id: 'after-half', dataset_id: id, type: 'write' })).status).toBe(
      202,
    );
    await waitFor(
      async () => (await call(s.url, 'GET', `/api/datasets/${id}/stats`)).body.access_count >= 1,
      'the marker to be applied',
    );
    const stats = (await call(s.url, 'GET', `/api/datasets/${id}/stats`)).body;
    expect(stats.access_count).toBe(1);
    expect(stats.writes).toBe(1);
  });

  test('when a content upload stops halfway, then the client gets 408, the old content stays and no temporary file is left', async () => {
    const id = (await call(s.url, 'POST', '/api/datasets', { name: 'half-upload' })).body.id as number;
    const old = crypto.randomBytes(1024 * 1024);
    await upload(s.url, id, old);
    const { socket, closed } = connect(s.port);
    socket.write(
      head('PUT', `/api/datasets/${id}/content`, {
        'Content-Type': 'application/octet-stream',
        'Content-Length': 4 * 1024 * 1024,
      }),
    );
    socket.write(crypto.randomBytes(2 * 1024 * 1024));
    const { text } = await closed;
    expect(text).toMatch(/^HTTP\/1\.1 408 /);

    await waitFor(() => tmpFiles(s.dir).length === 0, 'the partial upload to be removed');
    const after = await fetch(`${s.url}/api/datasets/${id}/content`);
    expect(after.status).toBe(200);
    expect(sha(Buffer.from(await after.arrayBuffer()))).toBe(sha(old));
    expect((await call(s.url, 'GET', `/api/datasets/${id}`)).body.content.sha256).toBe(sha(old));
  });

  test('when a large upload arrives slowly but steadily for longer than the idle timeout, then it is accepted whole', async () => {
    const id = (await call(s.url, 'POST', '/api/datasets', { name: 'slow-steady' })).body.id as number;
    const content = crypto.randomBytes(4 * 1024 * 1024);
    const piece = 128 * 1024;
    const { socket, closed } = connect(s.port);
    const started = Date.now();
    socket.write(
      head('PUT', `/api/datasets/${id}/content`, {
        'Content-Type': 'application/octet-stream',
        'Content-Length': content.length,
        Connection: 'close',
      }),
    );
    // 32 pieces 60 ms apart: about 2 s in all, twice the idle timeout, never idle for long.
    await new Promise<void>((resolve) => {
      let at = 0;
      const t = setInterval(() => {
        socket.write(content.subarray(at, at + piece));
        at += piece;
        if (at >= content.length) {
          clearInterval(t);
          resolve();
        }
      }, 60);
    });
    const { text } = await closed;
    expect(Date.now() - started).toBeGreaterThan(IDLE_TIMEOUT_MS);
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text).toContain(sha(content));
    const back = await fetch(`${s.url}/api/datasets/${id}/content`);
    expect(sha(Buffer.from(await back.arrayBuffer()))).toBe(sha(content));
  });

  test('when a client reads a download slowly, then it gets every byte right and the server never holds more than a bounded part of the file', async () => {
    const id = (await call(s.url, 'POST', '/api/datasets', { name: 'slow-reader' })).body.id as number;
    const content = crypto.randomBytes(24 * 1024 * 1024);
    await upload(s.url, id, content);
    // Every write of every response in this process: how much is queued behind it, in the response and its socket.
    let mostQueued = 0;
    // eslint-disable-next-line @typescript-eslint/unbound-method -- the original, called below with its own `this`
    const write = http.ServerResponse.prototype.write;
    const spy = jest.spyOn(http.ServerResponse.prototype, 'write').mockImplementation(function (
      this: http.ServerResponse,
      ...args: Parameters<typeof write>
    ) {
      const r = write.apply(this, args);
      mostQueued = Math.max(mostQueued, this.writableLength);
      return r;
    } as typeof write);
    try {
      const got = await new Promise<{ status: number; body: Buffer; ms: number }>((resolve, reject) => {
        const started = Date.now();
        http
          .get(`${s.url}/api/datasets/${id}/content`, (res) => {
            const parts: Buffer[] = [];
            let sincePause = 0;
            res.on('data', (d: Buffer) => {
              parts.push(d);
              sincePause += d.length;
              // About 512 KiB, then a 50 ms pause: ~5 s for the file, a slow but live reader.
              if (sincePause >= 512 * 1024) {
                sincePause = 0;
                res.pause();
                setTimeout(() => res.resume(), 50);
              }
            });
            res.on('end', () =>
              resolve({ status: res.statusCode!, body: Buffer.concat(parts), ms: Date.now() - started }),
            );
            res.on('error', reject);
          })
          .on('error', reject);
      });
      expect(got.status).toBe(200);
      expect(got.body.length).toBe(content.length);
      expect(sha(got.body)).toBe(sha(content));
      expect(got.ms).toBeGreaterThan(IDLE_TIMEOUT_MS);
      // The file is 24 MiB; what waits for the reader is bounded by the decrypt ring (4 MiB), not the file.
      expect(mostQueued).toBeGreaterThan(0);
      expect(mostQueued).toBeLessThanOrEqual(6 * 1024 * 1024);
      console.log(
        `slow reader: 24 MiB in ${got.ms} ms; at most ${(mostQueued / 1024 / 1024).toFixed(2)} MiB queued in the response`,
      );
    } finally {
      spy.mockRestore();
    }
  });

  test('when a client stops reading a download altogether, then the server closes the connection after the idle timeout and stays healthy', async () => {
    const id = (await call(s.url, 'POST', '/api/datasets', { name: 'stalled-reader' })).body.id as number;
    const content = crypto.randomBytes(16 * 1024 * 1024);
    await upload(s.url, id, content);
    // The client takes the first piece, then reads nothing for three idle timeouts. A paused socket
    // cannot notice the server closing it, so it looks again after that: by then the server must
    // have given up on it, and what is left to read is what was in flight, not the rest of the file.
    const outcome = await new Promise<{ received: number; complete: boolean }>((resolve, reject) => {
      http
        .get(`${s.url}/api/datasets/${id}/content`, (res) => {
          let received = 0;
          res.once('data', (d: Buffer) => {
            received += d.length;
            res.pause();
            setTimeout(() => {
              res.on('data', (more: Buffer) => (received += more.length));
              res.resume();
            }, 3 * IDLE_TIMEOUT_MS);
          });
          res.on('close', () => resolve({ received, complete: res.complete }));
          res.on('error', () => undefined);
        })
        .on('error', reject);
    });
    expect(outcome.complete).toBe(false);
    expect(outcome.received).toBeLessThan(content.length);
    expect((await call(s.url, 'GET', '/healthz')).status).toBe(200);
    const back = await fetch(`${s.url}/api/datasets/${id}/content`);
    expect(sha(Buffer.from(await back.arrayBuffer()))).toBe(sha(content));
  });

  test('when the server itself holds a body back for longer than the idle timeout, then the request is not cut off; when the client then stalls, it is', async () => {
    // The product's server function around a handler that reads nothing for 2.5 idle timeouts
    // (a disk or worker that is behind), then takes the body.
    const server = createHttpServer(
      (req, res) => {
        req.pause();
        setTimeout(() => {
          let n = 0;
          req.on('data', (d: Buffer) => (n += d.length));
          req.on('end', () => res.end(`got ${n}`));
          req.on('error', () => undefined);
          req.resume();
        }, 2.5 * IDLE_TIMEOUT_MS);
      },
      { headersTimeoutMs: HEADERS_TIMEOUT_MS, idleTimeoutMs: IDLE_TIMEOUT_MS },
      createLogger('silent'),
    );
    // No cap on a whole request (Node's default is 5 minutes): only the head and idleness are bounded.
    expect(server.requestTimeout).toBe(0);
    expect(server.headersTimeout).toBe(HEADERS_TIMEOUT_MS);
    expect(server.timeout).toBe(IDLE_TIMEOUT_MS);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const whole = connect(port);
      whole.socket.write(head('PUT', '/held', { 'Content-Length': 8 * 1024 * 1024, Connection: 'close' }));
      whole.socket.write(crypto.randomBytes(8 * 1024 * 1024));
      const done = await whole.closed;
      expect(done.text).toMatch(/^HTTP\/1\.1 200 /);
      expect(done.text).toMatch(/got 8388608$/);

      // Same, but the client sends only half and stops: once the server reads again, the idle
      // time is the client's, and it gets its 408.
      const half = connect(port);
      half.socket.write(head('PUT', '/held', { 'Content-Length': 8 * 1024 * 1024 }));
      half.socket.write(crypto.randomBytes(4 * 1024 * 1024));
      expect((await half.closed).text).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
