/**
 * `npm run bench:storage`: upload, download and move throughput for a large file (1 GiB by
 * default, BENCH_STORAGE_MB to change), each as a ratio to a baseline measured in the same run
 * on the same file, and the server's peak RSS. The server runs as a child process (as `npm start`
 * runs it) so its memory is its own.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

const MB = Number(process.env.BENCH_STORAGE_MB ?? 1024);
const SIZE = MB * 1024 * 1024;
const API_KEY = 'bench-storage-key-0000';
const MAIN = path.join(__dirname, '..', 'main.js');

const round = (n: number, d = 2): number => Math.round(n * 10 ** d) / 10 ** d;
const mibps = (bytes: number, ms: number): number => bytes / 1024 / 1024 / (ms / 1000);
const emit = (o: Record<string, unknown>): void => void process.stdout.write(JSON.stringify(o) + '\n');

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

async function makeFile(file: string): Promise<void> {
  const fh = await fsp.open(file, 'w');
  const block = crypto.randomBytes(8 * 1024 * 1024);
  for (let done = 0; done < SIZE; done += block.length) await fh.write(block, 0, Math.min(block.length, SIZE - done));
  await fh.sync();
  await fh.close();
}

async function plainCopy(src: string, dst: string): Promise<void> {
  await fsp.copyFile(src, dst);
  const fh = await fsp.open(dst, 'r+');
  await fh.sync();
  await fh.close();
}

async function bareGcm(src: string, dst: string): Promise<void> {
  const cipher = crypto.createCipheriv('aes-256-gcm', crypto.randomBytes(32), crypto.randomBytes(12));
  await pipeline(fs.createReadStream(src, { highWaterMark: 1 << 20 }), cipher, fs.createWriteStream(dst, { highWaterMark: 1 << 20 }));
}

function req(port: number, method: string, p: string, body?: fs.ReadStream, sink?: fs.WriteStream): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port, method, path: p, headers: { 'x-api-key': API_KEY, 'content-type': body ? 'application/octet-stream' : 'application/json' } }, (res) => {
      if (sink) {
        res.pipe(sink);
        sink.on('finish', () => resolve({ status: res.statusCode ?? 0, text: '' }));
        return;
      }
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    r.on('error', reject);
    if (body) body.pipe(r);
    else r.end();
  });
}

async function json(port: number, method: string, p: string, body?: unknown): Promise<any> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const r = http.request({ host: '127.0.0.1', port, method, path: p, headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve(JSON.parse(text || 'null')));
    });
    r.on('error', reject);
    r.end(data);
  });
}

function peakRssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dim-bench-storage-'));
  const src = path.join(work, 'input.bin');
  emit({ machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown cpu'}`, node: process.version, file_mib: MB });
  await makeFile(src);
  const copyMs = await timed(() => plainCopy(src, path.join(work, 'copy.bin')));
  fs.rmSync(path.join(work, 'copy.bin'));
  const gcmMs = await timed(() => bareGcm(src, path.join(work, 'gcm.bin')));
  fs.rmSync(path.join(work, 'gcm.bin'));
  emit({ baseline: 'fs.copyFile+fsync', mib_per_s: round(mibps(SIZE, copyMs), 1) });
  emit({ baseline: 'node:crypto aes-256-gcm stream pipeline', mib_per_s: round(mibps(SIZE, gcmMs), 1) });

  const dataDir = path.join(work, 'data');
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, API_KEY, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on http:\/\/localhost:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  try {
    const ds = await json(port, 'POST', '/api/datasets', { name: 'bench-1gib' });
    const upMs = await timed(async () => {
      const r = await req(port, 'PUT', `/api/datasets/${ds.id}/content`, fs.createReadStream(src, { highWaterMark: 1 << 20 }));
      if (r.status !== 200) throw new Error(`upload: ${r.status} ${r.text}`);
    });
    emit({ op: 'upload (HTTP PUT, SHA-256 + AES-256-GCM chunks, fsync)', mib_per_s: round(mibps(SIZE, upMs), 1), ratio_vs_bare_gcm: round(gcmMs / upMs) });
    const out = path.join(work, 'download.bin');
    const downMs = await timed(() => req(port, 'GET', `/api/datasets/${ds.id}/content`, undefined, fs.createWriteStream(out, { highWaterMark: 1 << 20 })));
    emit({ op: 'download (HTTP GET, verify + decrypt)', mib_per_s: round(mibps(SIZE, downMs), 1), ratio_vs_bare_gcm: round(gcmMs / downMs) });
    if ((await fsp.stat(out)).size !== SIZE) throw new Error('download size mismatch');
    fs.rmSync(out);
    const moveMs = await timed(async () => {
      const m = await json(port, 'POST', `/api/datasets/${ds.id}/moves`, { tier: 'COLD', location: 'PUBLIC' });
      for (;;) {
        const s = await json(port, 'GET', `/api/migrations/${m.id}`);
        if (s.state === 'done') return;
        if (s.state === 'failed' || s.state === 'cancelled') throw new Error(`move ${s.state}: ${s.error}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    emit({ op: 'move PRIVATE/WARM → PUBLIC/COLD (copy, fsync, verify, rename, switch, remove)', mib_per_s: round(mibps(SIZE, moveMs), 1), ratio_vs_plain_copy: round(copyMs / moveMs) });
    emit({ server_peak_rss_mib: round(peakRssMb(child.pid!), 1) });
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
