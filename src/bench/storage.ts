/**
 * `npm run bench:storage`: upload, download and move throughput for a large file (1 GiB by
 * default, BENCH_STORAGE_MB to change), each as a ratio to a baseline measured in the same run
 * on the same file, and the server's peak RSS. The server runs as a child process (as `npm start`
 * runs it) so its memory is its own.
 *
 * Reference lines (no ratio) show what the pieces cost alone on this machine: SHA-256 in memory,
 * a GCM + SHA-256 file pipeline, and plain node:http over loopback in both directions.
 *
 * Fairness between steps: on a VM whose memory the host backs lazily, writing a file onto guest
 * pages never touched before costs several times more kernel time than writing onto pages freed a
 * moment ago. Every timed step that writes a file of this size therefore starts right after a file
 * of this size was deleted, so that no step, baseline or measured, gets cheaper pages than another.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { emit, rounder, runBench } from './report';
import { benchS3 } from './storage-s3';

const MB = Number(process.env.BENCH_STORAGE_MB ?? 1024);
const SIZE = MB * 1024 * 1024;
const API_KEY = 'bench-storage-key-0000';
const MAIN = path.join(__dirname, '..', 'main.js');

const round = rounder(2);
const mibps = (bytes: number, ms: number): number => bytes / 1024 / 1024 / (ms / 1000);

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** The input: one random 8 MiB block, repeated. Returns its SHA-256, to check what comes back. */
async function makeFile(file: string, block: Buffer): Promise<string> {
  const fh = await fsp.open(file, 'w');
  const hash = crypto.createHash('sha256');
  for (let done = 0; done < SIZE; done += block.length) {
    const part = block.subarray(0, Math.min(block.length, SIZE - done));
    hash.update(part);
    await fh.write(part);
  }
  await fh.sync();
  await fh.close();
  return hash.digest('hex');
}

/** Writes and deletes a file of SIZE bytes, so the next step writes onto just-freed pages (see above). */
async function freePages(dir: string): Promise<void> {
  const file = path.join(dir, 'scratch.bin');
  const block = Buffer.alloc(8 * 1024 * 1024, 0x5a);
  const fh = await fsp.open(file, 'w');
  for (let done = 0; done < SIZE; done += block.length) await fh.write(block, 0, Math.min(block.length, SIZE - done));
  await fh.close();
  await fsp.rm(file);
}

async function plainCopy(src: string, dst: string): Promise<void> {
  await fsp.copyFile(src, dst);
  const fh = await fsp.open(dst, 'r+');
  await fh.sync();
  await fh.close();
}

async function bareGcm(src: string, dst: string): Promise<void> {
  const cipher = crypto.createCipheriv('aes-256-gcm', crypto.randomBytes(32), crypto.randomBytes(12));
  await pipeline(
    fs.createReadStream(src, { highWaterMark: 1 << 20 }),
    cipher,
    fs.createWriteStream(dst, { highWaterMark: 1 << 20 }),
  );
}

/** Reference: the bare pipeline with SHA-256 of the plaintext on the same thread, as an upload must compute. */
async function gcmWithSha256(src: string, dst: string): Promise<void> {
  const hash = crypto.createHash('sha256');
  const measure = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  const cipher = crypto.createCipheriv('aes-256-gcm', crypto.randomBytes(32), crypto.randomBytes(12));
  await pipeline(
    fs.createReadStream(src, { highWaterMark: 1 << 20 }),
    measure,
    cipher,
    fs.createWriteStream(dst, { highWaterMark: 1 << 20 }),
  );
  hash.digest();
}

/** Reference: SHA-256 alone over SIZE bytes already in memory (1 MiB updates). */
function sha256InMemory(block: Buffer): number {
  const hash = crypto.createHash('sha256');
  const t = process.hrtime.bigint();
  for (let done = 0; done < SIZE; done += 1 << 20)
    hash.update(block.subarray(done % block.length, (done % block.length) + Math.min(1 << 20, SIZE - done)));
  hash.digest();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** PUT of a file, sent with its length as a client that knows it would. */
function put(
  port: number,
  p: string,
  file: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const r = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'PUT',
        path: p,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(SIZE), ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    r.on('error', reject);
    fs.createReadStream(file, { highWaterMark: 1 << 20 }).pipe(r);
  });
}

/** GET whose body is counted (and hashed if asked), not stored: the client's disk is not what is measured. */
function get(
  port: number,
  p: string,
  opts: { headers?: Record<string, string>; hash?: boolean } = {},
): Promise<{ status: number; bytes: number; sha256?: string }> {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port, method: 'GET', path: p, headers: opts.headers ?? {} }, (res) => {
      const hash = opts.hash ? crypto.createHash('sha256') : undefined;
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        hash?.update(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, sha256: hash?.digest('hex') }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end();
  });
}

/** The fields of the API's answers this bench reads (a dataset, a move). */
interface ApiObject {
  id: number;
  state?: string;
  error?: string | null;
}

async function json(port: number, method: string, p: string, body?: unknown): Promise<ApiObject> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const r = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: p,
        headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(JSON.parse(text || 'null') as ApiObject));
      },
    );
    r.on('error', reject);
    r.end(data);
  });
}

function peakRssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Starts a child that prints "listening on http://localhost:<port>"; resolves with the port. */
function listeningPort(child: ChildProcess): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on http:\/\/localhost:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (c) => reject(new Error(`child exited ${c}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
}

/**
 * Reference: plain node:http in its own process, as the server is, doing nothing with the bytes:
 * PUT bodies are discarded, GET answers stream the input file. What HTTP over loopback costs here
 * with the client on the same two cores.
 */
const PLAIN_HTTP_SERVER = `
const http = require('node:http');
const fs = require('node:fs');
const [file, size] = [process.argv[1], Number(process.argv[2])];
const server = http.createServer((req, res) => {
  if (req.method === 'PUT') {
    req.on('data', () => undefined);
    req.on('end', () => res.end('ok'));
    return;
  }
  res.setHeader('content-length', String(size));
  fs.createReadStream(file, { highWaterMark: 1 << 20 }).pipe(res);
});
server.listen(0, '127.0.0.1', () => console.log('listening on http://localhost:' + server.address().port));
`;

async function plainHttp(src: string): Promise<{ putMs: number; getMs: number }> {
  const child = spawn(process.execPath, ['-e', PLAIN_HTTP_SERVER, src, String(SIZE)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await listeningPort(child);
    const putMs = await timed(async () => {
      const r = await put(port, '/', src);
      if (r.status !== 200) throw new Error(`plain PUT: ${r.status}`);
    });
    const getMs = await timed(async () => {
      const r = await get(port, '/');
      if (r.bytes !== SIZE) throw new Error('plain GET size mismatch');
    });
    return { putMs, getMs };
  } finally {
    await stop(child);
  }
}

/** The S3 store's steps (storage-s3.ts); BENCH_S3=0 skips them (they need s3rver, a dev dependency). */
async function s3Part(work: string, src: string, sourceSha: string): Promise<void> {
  if (process.env.BENCH_S3 === '0') return;
  const helpers = { timed, listeningPort, stop, put, get, json, peakRssMb };
  await benchS3({ work, src, size: SIZE, sourceSha, apiKey: API_KEY, main: MAIN, ...helpers });
}

/** BENCH_FILE=0: the S3 part alone (it does not use the file store's figures). */
function s3Alone(work: string, src: string, sourceSha: string): Promise<void> {
  return s3Part(work, src, sourceSha).finally(() => fs.rmSync(work, { recursive: true, force: true }));
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dim-bench-storage-'));
  const src = path.join(work, 'input.bin');
  emit({
    machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown cpu'}`,
    node: process.version,
    file_mib: MB,
  });
  const block = crypto.randomBytes(8 * 1024 * 1024);
  const sourceSha = await makeFile(src, block);

  if (process.env.BENCH_FILE === '0') return s3Alone(work, src, sourceSha);
  await freePages(work);
  const copyMs = await timed(() => plainCopy(src, path.join(work, 'copy.bin')));
  fs.rmSync(path.join(work, 'copy.bin'));
  const gcmMs = await timed(() => bareGcm(src, path.join(work, 'gcm.bin')));
  fs.rmSync(path.join(work, 'gcm.bin'));
  const gcmShaMs = await timed(() => gcmWithSha256(src, path.join(work, 'gcm-sha.bin')));
  emit({ baseline: 'fs.copyFile+fsync', mib_per_s: round(mibps(SIZE, copyMs), 1) });
  emit({ baseline: 'node:crypto aes-256-gcm stream pipeline', mib_per_s: round(mibps(SIZE, gcmMs), 1) });
  emit({ reference: 'SHA-256 alone, in memory, one thread', mib_per_s: round(mibps(SIZE, sha256InMemory(block)), 1) });
  emit({
    reference: 'aes-256-gcm + SHA-256 stream pipeline (file to file, one thread)',
    mib_per_s: round(mibps(SIZE, gcmShaMs), 1),
  });
  const plain = await plainHttp(src);
  emit({
    reference: 'plain node:http PUT over loopback, body discarded',
    mib_per_s: round(mibps(SIZE, plain.putMs), 1),
  });
  emit({
    reference: 'plain node:http GET over loopback, file streamed',
    mib_per_s: round(mibps(SIZE, plain.getMs), 1),
  });

  const dataDir = path.join(work, 'data');
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, API_KEY, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await listeningPort(child);
    const ds = await json(port, 'POST', '/api/datasets', { name: 'bench-1gib' });
    // The pages of the last reference file are freed just before the upload writes its own.
    fs.rmSync(path.join(work, 'gcm-sha.bin'));
    let uploaded: { sha256?: string } = {};
    const upMs = await timed(async () => {
      const r = await put(port, `/api/datasets/${ds.id}/content`, src, { 'x-api-key': API_KEY });
      if (r.status !== 200) throw new Error(`upload: ${r.status} ${r.text}`);
      uploaded = (JSON.parse(r.text) as { uploaded: { sha256: string } }).uploaded;
    });
    if (uploaded.sha256 !== sourceSha) throw new Error('upload: the server computed another SHA-256');
    // The server's peak RSS so far is given with each step, so a peak can be told to its step.
    const peak = (): number => round(peakRssMb(child.pid!), 1);
    emit({
      op: 'upload (HTTP PUT, SHA-256 + AES-256-GCM chunks, fsync)',
      mib_per_s: round(mibps(SIZE, upMs), 1),
      ratio_vs_bare_gcm: round(gcmMs / upMs),
      // The yardstick (issue 12): one thread doing what an upload must, AES-GCM and SHA-256.
      ratio_vs_gcm_sha256: round(gcmShaMs / upMs),
      server_peak_rss_mib: peak(),
    });

    const downMs = await timed(async () => {
      const r = await get(port, `/api/datasets/${ds.id}/content`);
      if (r.status !== 200 || r.bytes !== SIZE) throw new Error(`download: ${r.status}, ${r.bytes} bytes`);
    });
    emit({
      op: 'download (HTTP GET, verify + decrypt)',
      mib_per_s: round(mibps(SIZE, downMs), 1),
      ratio_vs_bare_gcm: round(gcmMs / downMs),
      server_peak_rss_mib: peak(),
    });
    // Untimed: the bytes that come back are the bytes that went in.
    const check = await get(port, `/api/datasets/${ds.id}/content`, { hash: true });
    if (check.sha256 !== sourceSha) throw new Error('download: the content differs from the input');
    emit({ step: 'download again, hashed by the client (untimed)', server_peak_rss_mib: peak() });

    await freePages(work);
    const moveMs = await timed(async () => {
      const m = await json(port, 'POST', `/api/datasets/${ds.id}/moves`, { tier: 'COLD', location: 'PUBLIC' });
      for (;;) {
        const s = await json(port, 'GET', `/api/migrations/${m.id}`);
        if (s.state === 'done') return;
        if (s.state === 'failed' || s.state === 'cancelled')
          throw new Error(`move ${s.state}: ${s.error ?? 'no error given'}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    emit({
      op: 'move PRIVATE/WARM → PUBLIC/COLD (copy, fsync, verify, rename, switch, remove)',
      mib_per_s: round(mibps(SIZE, moveMs), 1),
      ratio_vs_plain_copy: round(copyMs / moveMs),
      server_peak_rss_mib: peak(),
    });
  } finally {
    await stop(child);
  }
  await s3Part(work, src, sourceSha).finally(() => fs.rmSync(work, { recursive: true, force: true }));
}

runBench(main);
