import type { IncomingMessage } from 'node:http';

/** Bodies up to this size take the direct read; larger ones go through express.json as before. */
const DIRECT_MAX_BYTES = 1 << 20;
const PLAIN_JSON = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

/**
 * Whether express.json's work can be skipped for this request: a JSON body in UTF-8, neither
 * compressed nor chunked, whose declared length is within the limit. Anything else (NDJSON,
 * another charset, a compressed or chunked body, one over the limit) goes the general way, so
 * its errors (413, 415) are express.json's own.
 */
export function directJson(req: IncomingMessage, limit: number): boolean {
  const h = req.headers;
  const type = h['content-type'];
  if (type === undefined || !PLAIN_JSON.test(type)) return false;
  const encoding = h['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
  const length = h['content-length'];
  if (length === undefined || h['transfer-encoding'] !== undefined || !/^\d{1,9}$/.test(length)) return false;
  return Number(length) <= Math.min(limit, DIRECT_MAX_BYTES);
}

/** An error shaped as body-parser's (`type`, `status`), so the one error mapper answers it the same way. */
function bodyError(err: Error, status: number, type: string): Error {
  return Object.assign(err, { status, statusCode: status, expose: true, type });
}

/**
 * Reads and parses a body that `directJson` accepted, as express.json would: a leading BOM is
 * dropped, an empty body is `{}`, invalid JSON fails with JSON.parse's message and type
 * `entity.parse.failed`, an aborted request with `request.aborted` (no answer is sent). On the
 * single-event path, express.json's layers (content-type negotiation, raw-body's stream plumbing,
 * iconv) cost more main-thread time than the event's own validation.
 */
export function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let done = false;
    const aborted = (): void => {
      if (done) return;
      done = true;
      reject(bodyError(new Error('request aborted'), 400, 'request.aborted'));
    };
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('error', aborted);
    req.once('close', () => {
      if (!req.complete) aborted();
    });
    req.once('end', () => {
      if (done) return;
      done = true;
      let text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      if (text.length === 0) return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch (err) {
        reject(bodyError(err as Error, 400, 'entity.parse.failed'));
      }
    });
  });
}
