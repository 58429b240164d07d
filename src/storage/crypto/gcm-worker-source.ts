import { FETCH_SOURCE } from './gcm-worker-fetch';
import { PUT_SOURCE } from './gcm-worker-put';

/** Words of a job's control block. */
export const DONE = 0;
export const FAILED = 1;
export const CONTROL_WORDS = 2;

/**
 * The workers' program: passed as source (eval), so it runs the same from compiled JavaScript
 * and from TypeScript under ts-jest.
 *
 * Every chunk the cipher outputs is a new buffer, dead once written (or copied to the ring), and
 * V8 lets ~32 MiB of such garbage pile up before it collects: that would be a fifth of the
 * server's memory. So the worker collects its young generation (a scavenge of a heap that holds
 * almost nothing, well under a millisecond) every COLLECT_EVERY bytes of output. The collector
 * comes from a context created inside this worker while --expose-gc is set; the flag is
 * process-wide, so it is on only for the instant that takes (and left alone if the process was
 * started with it). If any of that is refused, collection is left to V8. Measured at 1-2 GiB:
 * without it the server's peak RSS is ~170 MB instead of ~137 MB. Collecting every 4 MiB
 * instead saved ~0.1 s of worker CPU per GiB each way, but no measurable throughput, for ~3 MB
 * more peak RSS (the budget is 150 MB): so every 1 MiB.
 */
export const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const crypto = require('node:crypto');
const fs = require('node:fs');
const TAG = 16;
const COLLECT_EVERY = 1024 * 1024;
const port = workerData.port;
const jobs = new Map();
let sealed = Buffer.alloc(0);
const collect = (() => {
  if (typeof globalThis.gc === 'function') return () => globalThis.gc({ type: 'minor' });
  const v8 = require('node:v8');
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = require('node:vm').runInNewContext('gc');
    return typeof gc === 'function' ? () => gc({ type: 'minor' }) : () => undefined;
  } catch {
    return () => undefined;
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
})();
let garbage = 0;
function discarded(bytes) {
  garbage += bytes;
  if (garbage < COLLECT_EVERY) return;
  garbage = 0;
  collect();
}

function ringParts(job, at, len) {
  const first = Math.min(len, job.ring.length - at);
  return first === len ? [job.ring.subarray(at, at + len)] : [job.ring.subarray(at), job.ring.subarray(0, len - first)];
}

function writeAll(job, buffers, out) {
  if (out !== undefined) return toIo(job, buffers, out);
  let rest = buffers.filter((b) => b.length > 0);
  while (rest.length > 0) {
    let n = fs.writevSync(job.fd, rest);
    if (n <= 0) throw new Error('the disk accepted no bytes');
    while (rest.length > 0 && n >= rest[0].length) n -= rest.shift().length;
    if (n > 0) rest[0] = rest[0].subarray(n);
  }
}

// Object bytes in the job's io ring (an object store's ciphertext): copied in at ring offset \`out\`.
function toIo(job, buffers, out) {
  let at = out;
  for (const b of buffers) {
    for (let done = 0; done < b.length;) {
      const n = Math.min(b.length - done, job.io.length - at);
      b.copy(job.io, at, done, done + n);
      done += n;
      at = (at + n) % job.io.length;
    }
  }
}

function fromIo(job, len, pos) {
  const parts = ringParts({ ring: job.io }, pos, len);
  if (parts.length === 1) return parts[0];
  if (sealed.length < len) sealed = Buffer.allocUnsafe(len);
  parts[0].copy(sealed, 0);
  parts[1].copy(sealed, parts[0].length);
  return sealed.subarray(0, len);
}

function readAll(job, len, pos) {
  if (sealed.length < len) sealed = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const n = fs.readSync(job.fd, sealed, got, len - got, pos + got);
    if (n === 0) throw Object.assign(new Error('truncated'), { code: 'TRUNCATED' });
    got += n;
  }
  return sealed.subarray(0, len);
}

function seal(job, m) {
  const parts = ringParts(job, m.at, m.len);
  if (job.hash) for (const part of parts) job.hash.update(part);
  const c = crypto.createCipheriv('aes-256-gcm', job.key, m.nonce);
  c.setAAD(m.aad);
  const out = parts.map((part) => c.update(part));
  c.final();
  out.push(c.getAuthTag());
  writeAll(job, out, m.out);
  discarded(m.len);
}

function open(job, m) {
  const bytes = m.io ? fromIo(job, m.len, m.pos) : readAll(job, m.len, m.pos);
  const d = crypto.createDecipheriv('aes-256-gcm', job.key, m.nonce);
  d.setAAD(m.aad);
  d.setAuthTag(bytes.subarray(m.len - TAG));
  const plain = d.update(bytes.subarray(0, m.len - TAG));
  try {
    d.final();
  } catch {
    throw Object.assign(new Error('tampered'), { code: 'TAMPERED' });
  }
  discarded(plain.length);
  // Authenticated only (a move's source): the plaintext goes nowhere.
  if (m.at < 0) return;
  let done = 0;
  for (const part of ringParts(job, m.at, plain.length)) {
    plain.copy(part, 0, done, done + part.length);
    done += part.length;
  }
}

// The MD5 of io ring bytes (an S3 part, for Content-MD5 and its ETag), into the job's digest slot.
function md5(job, m) {
  const h = crypto.createHash('md5');
  for (const part of ringParts({ ring: job.io }, m.pos, m.len)) h.update(part);
  h.digest().copy(job.digests, m.slot * 16);
}

const view = (u8) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);

// A request failed: the job stops (later requests are ignored) and the main thread is told why.
function failJob(id, job, err) {
  if (job.failed || job.closed) return;
  job.failed = true;
  if (job.fetch) fetchStop(job);
  Atomics.store(job.ctl, ${FAILED}, 1);
  const e = err || {};
  port.postMessage({ job: id, error: { message: String(e.message), code: e.code, index: e.index, status: e.status, name: e.name } });
  Atomics.notify(job.ctl, ${DONE});
}
const DONE_WORD = ${DONE};
${FETCH_SOURCE}
${PUT_SOURCE}
port.on('message', (m) => {
  // An S3 part (gcm-worker-put.ts) belongs to a sender, not to a job.
  if (m.op === 'put') return putPart(m);
  if (m.op === 'putStop') return putStop(m);
  if (m.op === 'begin') {
    jobs.set(m.job, { ring: Buffer.from(m.ring), io: m.io ? Buffer.from(m.io) : undefined, digests: m.digests ? Buffer.from(m.digests) : undefined, ctl: new Int32Array(m.control), fd: m.fd, key: view(m.key), hash: m.sha256 ? crypto.createHash('sha256') : undefined, failed: false, closed: false });
    return;
  }
  const job = jobs.get(m.job);
  if (m.op === 'end') {
    if (job) {
      job.closed = true;
      fetchStop(job);
      job.key.fill(0);
    }
    jobs.delete(m.job);
    port.postMessage({ job: m.job, ended: true, sha256: job && job.hash && !job.failed ? job.hash.digest('hex') : undefined });
    return;
  }
  if (!job || job.failed) return;
  // A GET's chunks are opened as its response arrives (gcm-worker-fetch.ts), not here.
  if (m.op === 'fetch') return fetchStart(m.job, job, m);
  if (m.op === 'open' && job.fetch) return fetchOpen(m.job, job, m);
  try {
    if (m.op === 'write') writeAll(job, [view(m.bytes)]);
    else if (m.op === 'seal') seal(job, m);
    else if (m.op === 'open') open(job, m);
    else if (m.op === 'md5') md5(job, m);
    else if (m.op === 'readIo') readIo(job, m);
    Atomics.add(job.ctl, ${DONE}, 1);
    Atomics.notify(job.ctl, ${DONE});
  } catch (err) {
    failJob(m.job, job, { message: err && err.message, code: err && err.code, index: m.index });
  }
});
`;
