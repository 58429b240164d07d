/**
 * The workers' side of a GET they send themselves (remote-read.ts), appended to their program
 * (gcm-worker-source.ts, which defines `port`, `DONE_WORD`, `discarded` and `failJob`).
 *
 * The main thread posts `fetch` with the signed request and the sealed bytes the response must
 * hold, then one `open` per chunk as its plaintext ring has room (nonce, AAD, sealed length and
 * ring offset, all computed there). Each chunk is deciphered straight from the socket's reads as
 * they come, into the ring space its open was given; only once its tag verified is it counted
 * done, and only counted chunks are ever read by the main thread: a chunk that fails its tag
 * fails the job, and its bytes in the ring are never sent. The response is paused while no open
 * waits for the bytes in hand, so memory is the ring plus one socket read, whatever the size.
 * An open with a file position (a move into a file) also writes the chunk's sealed bytes there,
 * and one with a ring offset below zero keeps no plaintext (the chunk is only authenticated).
 */
export const FETCH_SOURCE = `
const http = require('node:http');
const https = require('node:https');
const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };
const TAG_BYTES = 16;

// Sent again, as the SDK's standard retry would, while nothing of the body has been used: a
// connection the server closed under the keep-alive pool, or an answer asking to come back.
const ATTEMPTS = 3;
const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);

function fetchStart(id, job, m) {
  job.fetch = { queue: [], chunk: undefined, held: [], received: 0, expected: m.expected, ended: false, req: undefined, res: undefined };
  send(id, job, m.request, 1);
}

function send(id, job, r, attempt) {
  const f = job.fetch;
  if (job.failed || job.closed) return;
  const lib = r.protocol === 'https:' ? https : http;
  const req = lib.request({ hostname: r.hostname, port: r.port, path: r.path, method: 'GET', headers: r.headers, agent: agents[r.protocol] });
  f.req = req;
  let superseded = false;
  const again = () => {
    superseded = true;
    setTimeout(() => send(id, job, r, attempt + 1), Math.random() * 100 * 2 ** attempt);
  };
  req.on('error', (err) => {
    if (superseded) return;
    if (!f.res && attempt < ATTEMPTS && !job.failed && !job.closed) return again();
    failJob(id, job, err);
  });
  req.on('response', (res) => {
    if (RETRY_STATUS.has(res.statusCode) && attempt < ATTEMPTS) {
      res.resume();
      return again();
    }
    f.res = res;
    port.postMessage({ job: id, status: res.statusCode });
    res.on('error', (err) => failJob(id, job, err));
    if (res.statusCode !== 200 && res.statusCode !== 206) return refused(id, job, res);
    res.on('data', (piece) => {
      if (job.failed || job.closed) return;
      f.received += piece.length;
      if (f.received > f.expected) {
        const err = Object.assign(new Error('the object holds more bytes than its size says'), { code: 'TAMPERED' });
        return failJob(id, job, err);
      }
      f.held.push(piece);
      advance(id, job);
      // Not counted as garbage here: each socket read dies with the plaintext deciphered from
      // it, which feed() counts. Counting both collected every 512 KiB read: 2,048 forced
      // scavenges per GiB, each waking V8's helper threads on a machine of two cores; counting
      // once halves them for ~1 MiB more peak (BENCHMARKS.md, 2026-12-04).
    });
    res.on('end', () => {
      f.ended = true;
      advance(id, job);
    });
  });
  req.end();
}

// The server's error document (S3's <Code> and <Message>), as the SDK would have read it.
function refused(id, job, res) {
  const parts = [];
  let n = 0;
  res.on('data', (b) => {
    if (n < 65536) parts.push(b);
    n += b.length;
  });
  res.on('end', () => {
    const text = Buffer.concat(parts).toString('utf8');
    const code = /<Code>([^<]*)<\\/Code>/.exec(text);
    const message = /<Message>([^<]*)<\\/Message>/.exec(text);
    const err = new Error(message ? message[1] : 'the store answered HTTP ' + res.statusCode);
    failJob(id, job, Object.assign(err, { code: 'HTTP', status: res.statusCode, name: code ? code[1] : undefined }));
  });
}

function fetchOpen(id, job, m) {
  job.fetch.queue.push(m);
  advance(id, job);
}

// Feeds what has arrived to the chunks asked for, in order; pauses the response while none is.
function advance(id, job) {
  const f = job.fetch;
  if (job.failed || job.closed) return;
  try {
    while (f.held.length > 0) {
      if (!f.chunk) {
        const next = f.queue.shift();
        if (!next) break;
        const d = crypto.createDecipheriv('aes-256-gcm', job.key, next.nonce);
        d.setAAD(next.aad);
        f.chunk = { m: next, d, got: 0, out: 0, tag: Buffer.alloc(TAG_BYTES) };
      }
      const c = f.chunk;
      const piece = f.held[0];
      const used = feed(job, c, piece);
      if (used === piece.length) f.held.shift();
      else f.held[0] = piece.subarray(used);
      if (c.got === c.m.len) {
        f.chunk = undefined;
        c.d.setAuthTag(c.tag);
        try {
          c.d.final();
        } catch {
          throw Object.assign(new Error('tampered'), { code: 'TAMPERED', index: c.m.index });
        }
        Atomics.add(job.ctl, DONE_WORD, 1);
        Atomics.notify(job.ctl, DONE_WORD);
      }
    }
    if (f.res && !f.ended) {
      if (f.held.length > 0) f.res.pause();
      else f.res.resume();
    }
    const waiting = f.chunk ? f.chunk.m : f.queue[0];
    if (f.ended && f.held.length === 0 && waiting) {
      throw Object.assign(new Error('truncated'), { code: 'TRUNCATED', index: waiting.index });
    }
  } catch (err) {
    failJob(id, job, err);
  }
}

// Deciphers what of \`piece\` belongs to chunk \`c\` into its ring space (the tag kept aside): bytes used.
function feed(job, c, piece) {
  const n = Math.min(piece.length, c.m.len - c.got);
  const cipherEnd = c.m.len - TAG_BYTES;
  let pos = 0;
  // A move into a file: the sealed bytes as they came, at their place (published only once all verified).
  if (c.m.pos !== undefined) writeAt(job.fd, piece.subarray(0, n), c.m.pos + c.got);
  if (c.got < cipherEnd) {
    pos = Math.min(n, cipherEnd - c.got);
    const plain = c.d.update(piece.subarray(0, pos));
    // Authenticated only (a move's source): the plaintext goes nowhere.
    for (let done = 0; c.m.at >= 0 && done < plain.length;) {
      const at = (c.m.at + c.out) % job.ring.length;
      const k = Math.min(plain.length - done, job.ring.length - at);
      plain.copy(job.ring, at, done, done + k);
      done += k;
      c.out += k;
    }
    discarded(plain.length);
    c.got += pos;
  }
  if (pos < n) {
    piece.copy(c.tag, c.got - cipherEnd, pos, n);
    c.got += n - pos;
  }
  return n;
}

function writeAt(fd, bytes, position) {
  for (let done = 0; done < bytes.length;) {
    const n = fs.writeSync(fd, bytes, done, bytes.length - done, position + done);
    if (n <= 0) throw new Error('the disk accepted no bytes');
    done += n;
  }
}

function fetchStop(job) {
  const f = job.fetch;
  if (f && f.req && !f.ended) f.req.destroy();
}
`;
