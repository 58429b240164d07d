import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler } from 'express';
import { directJson, readJson } from '../../../src/ingest/json-body';

/** What a parser made of a body: the value, or the error's status, type and message. */
type Outcome = { body: unknown } | { status: number; type: string; message: string };

const report: ErrorRequestHandler = (err: { status: number; type: string; message: string }, _req, res, _next) => {
  res.json({ status: err.status, type: err.type, message: err.message });
};

async function serve(app: express.Express): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

function post(url: string, payload: Buffer, headers: http.OutgoingHttpHeaders): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Outcome));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

describe('the events route reads small JSON bodies itself', () => {
  let general: { url: string; close(): Promise<void> };
  let direct: { url: string; close(): Promise<void> };

  beforeAll(async () => {
    const a = express();
    a.post('/', express.json({ limit: 1 << 20, strict: false }), (req, res) => {
      res.json({ body: req.body as unknown });
    });
    a.use(report);
    general = await serve(a);
    const b = express();
    b.post('/', async (req, res) => {
      if (!directJson(req, 1 << 20)) throw new Error('not taken directly');
      res.json({ body: await readJson(req) });
    });
    b.use(report);
    direct = await serve(b);
  });

  afterAll(async () => {
    await general.close();
    await direct.close();
  });

  test.each([
    ['an event', '{"dataset_id":1,"type":"read","bytes":4096}'],
    ['a batch', '[{"dataset_id":1,"type":"read"},{"dataset":"café ☕","type":"write"}]'],
    ['a body with a byte-order mark', '\ufeff{"dataset_id":1}'],
    ['an empty body', ''],
    ['a bare string', '"read"'],
    ['invalid JSON', '{"dataset_id": 1,'],
    ['a truncated string', '{"dataset":"ab'],
    ['JSON followed by garbage', '{"dataset_id":1} x'],
  ])('when the body is %s, then the answer is the same as express.json gives', async (_what, text) => {
    const payload = Buffer.from(text, 'utf8');
    const headers = { 'content-type': 'application/json', 'content-length': payload.length };
    const want = await post(general.url, payload, headers);
    expect(await post(direct.url, payload, headers)).toEqual(want);
    const charset = { ...headers, 'content-type': 'Application/JSON; charset=UTF-8' };
    expect(await post(direct.url, payload, charset)).toEqual(want);
  });

  test('when the body is not plain, small, declared UTF-8 JSON, then it is left to express.json', () => {
    const req = (headers: Record<string, string>) => ({ headers }) as unknown as http.IncomingMessage;
    const json = { 'content-type': 'application/json', 'content-length': '10' };
    expect(directJson(req(json), 100)).toBe(true);
    expect(directJson(req({ ...json, 'content-length': '101' }), 100)).toBe(false);
    expect(directJson(req({ ...json, 'content-length': String(2 << 20) }), 4 << 20)).toBe(false);
    expect(directJson(req({ 'content-type': 'application/json', 'transfer-encoding': 'chunked' }), 100)).toBe(false);
    expect(directJson(req({ ...json, 'content-encoding': 'gzip' }), 100)).toBe(false);
    expect(directJson(req({ ...json, 'content-encoding': 'identity' }), 100)).toBe(true);
    expect(directJson(req({ ...json, 'content-type': 'application/json; charset=utf-16' }), 100)).toBe(false);
    expect(directJson(req({ ...json, 'content-type': 'application/x-ndjson' }), 100)).toBe(false);
    expect(directJson(req({ ...json, 'content-type': 'text/plain' }), 100)).toBe(false);
    expect(directJson(req({ 'content-length': '10' }), 100)).toBe(false);
  });
});
