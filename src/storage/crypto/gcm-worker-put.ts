/**
 * The workers' side of an S3 part they send themselves (part-sender.ts), appended to their
 * program (gcm-worker-source.ts, which defines `port` and `ringParts`).
 *
 * The main thread posts `put` with the signed UploadPart (its Content-MD5 signed in, the payload
 * UNSIGNED-PAYLOAD), the io ring (shared memory, not copied) and where the part lies in it. The
 * worker writes the ring's bytes to the socket as they are, and answers with the part's ETag, or
 * with the server's error as the SDK would name it. Sent again, as the SDK's standard retry
 * does, 3 attempts with jittered backoff, on a dropped connection or 429/500/502/503/504: the
 * bytes stay in the ring until the answer, since the main thread releases them only then.
 * A put is no job's request: it is answered even after the job that sealed the bytes ended.
 *
 * Also here, a job's request: `readIo`, a move's file source read by the worker straight into
 * the io ring, where the job's opens authenticate it and the sender sends it on.
 */
export const PUT_SOURCE = `
const putHttp = require('node:http');
const putHttps = require('node:https');
const putAgents = { 'http:': new putHttp.Agent({ keepAlive: true }), 'https:': new putHttps.Agent({ keepAlive: true }) };
const PUT_ATTEMPTS = 3;
const PUT_RETRY = new Set([429, 500, 502, 503, 504]);
// Puts in flight by sender, so that a sender's stop cuts them.
const putsInFlight = new Map();

function putPart(m) {
  const io = Buffer.from(m.io);
  const views = ringParts({ ring: io }, m.pos, m.len);
  const answer = (reply) => {
    const mine = putsInFlight.get(m.job);
    if (mine) mine.delete(m.put);
    port.postMessage({ job: m.job, put: m.put, ...reply });
  };
  if (!putsInFlight.has(m.job)) putsInFlight.set(m.job, new Map());
  putSend(m, views, 1, answer);
}

function putSend(m, views, attempt, answer) {
  const r = m.request;
  const lib = r.protocol === 'https:' ? putHttps : putHttp;
  const req = lib.request({ hostname: r.hostname, port: r.port, path: r.path, method: 'PUT', headers: r.headers, agent: putAgents[r.protocol] });
  const mine = putsInFlight.get(m.job);
  if (!mine) return answer({ putError: { message: 'the part sender has stopped' } });
  mine.set(m.put, req);
  let settled = false;
  const again = () => {
    settled = true;
    setTimeout(() => putSend(m, views, attempt + 1, answer), Math.random() * 100 * 2 ** attempt);
  };
  const fail = (err) => {
    if (settled) return;
    settled = true;
    answer({ putError: { message: String(err && err.message), code: err && err.code, status: err && err.status, name: err && err.name } });
  };
  req.on('error', (err) => {
    if (settled) return;
    if (attempt < PUT_ATTEMPTS && !req.stopped) return again();
    fail(err);
  });
  req.on('response', (res) => {
    const parts = [];
    let n = 0;
    res.on('data', (b) => {
      if (n < 65536) parts.push(b);
      n += b.length;
    });
    res.on('error', (err) => fail(err));
    res.on('end', () => {
      if (settled) return;
      if (PUT_RETRY.has(res.statusCode) && attempt < PUT_ATTEMPTS) return again();
      if (res.statusCode === 200) {
        settled = true;
        const h = res.headers;
        return answer({ etag: String(h.etag || ''), sse: h['x-amz-server-side-encryption'], ssec: h['x-amz-server-side-encryption-customer-algorithm'] });
      }
      const text = Buffer.concat(parts).toString('utf8');
      const code = /<Code>([^<]*)<\\/Code>/.exec(text);
      const message = /<Message>([^<]*)<\\/Message>/.exec(text);
      fail({ message: message ? message[1] : 'the store answered HTTP ' + res.statusCode, code: 'HTTP', status: res.statusCode, name: code ? code[1] : undefined });
    });
  });
  for (const view of views) req.write(view);
  req.end();
}

// A file's bytes read straight into the job's io ring at \`out\` (a move's source): a job's request.
function readIo(job, m) {
  for (let done = 0; done < m.len;) {
    const at = (m.out + done) % job.io.length;
    const n = fs.readSync(m.fd, job.io, at, Math.min(m.len - done, job.io.length - at), m.pos + done);
    if (n === 0) throw Object.assign(new Error('truncated'), { code: 'TRUNCATED' });
    done += n;
  }
}

// The sender stopped (its upload failed or was given up): its puts in flight are cut.
function putStop(m) {
  const mine = putsInFlight.get(m.job);
  putsInFlight.delete(m.job);
  if (!mine) return;
  for (const req of mine.values()) {
    req.stopped = true;
    req.destroy(Object.assign(new Error('the part sender has stopped'), { code: 'STOPPED' }));
  }
}
`;
