import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { emit, rounder } from './report';
import { bareSdkProcessPeak } from './s3-bare-peak';
import { BUCKET, CREDS, PART_BYTES, QUEUE } from './s3-bench-settings';
import { type S3Relay, startRelay } from './s3-relay';

const round = rounder(2);
const mibps = (bytes: number, ms: number): number => bytes / 1024 / 1024 / (ms / 1000);

/** What storage.ts lends this part: the input file, its hash, and its HTTP helpers. */
export interface S3BenchDeps {
  work: string;
  src: string;
  size: number;
  sourceSha: string;
  apiKey: string;
  main: string;
  timed(fn: () => Promise<unknown>): Promise<number>;
  listeningPort(child: ChildProcess): Promise<number>;
  stop(child: ChildProcess): Promise<void>;
  put(
    port: number,
    p: string,
    file: string,
    headers?: Record<string, string>,
  ): Promise<{ status: number; text: string }>;
  get(port: number, p: string, opts?: { hash?: boolean }): Promise<{ status: number; bytes: number; sha256?: string }>;
  json(
    port: number,
    method: string,
    p: string,
    body?: unknown,
  ): Promise<{ id: number; state?: string; error?: string | null }>;
  peakRssMb(pid: number): number;
}

/** s3rver in its own process (as a real server would be), its files under `dir`. */
const S3RVER = `
const S3rver = require(process.argv[1]);
new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: process.argv[2] })
  .run().then(({ port }) => console.log('listening on http://localhost:' + port));
`;

/** The process's resident memory now (VmRSS), in MiB. */
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** CPU seconds (user + system) a process, or one of its threads, has used so far. */
function cpuSeconds(pid: number, tid?: number): number {
  const stat = fs.readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The server's CPU over one product step (all threads, and its main thread alone): a cost that does not depend on the load. */
function stepCpu(pid: number): { mark(): void; took(): Record<string, number> } {
  let all = 0;
  let main = 0;
  return {
    mark: () => {
      all = cpuSeconds(pid);
      main = cpuSeconds(pid, pid);
    },
    took: () => ({
      server_cpu_s: round(cpuSeconds(pid) - all, 2),
      server_main_thread_cpu_s: round(cpuSeconds(pid, pid) - main, 2),
    }),
  };
}

async function drain(body: Readable): Promise<number> {
  let n = 0;
  for await (const piece of body) n += (piece as Buffer).length;
  return n;
}

/**
 * The S3 store against s3rver: upload, download, a tier change inside the S3 location, a move
 * out of it to a file, back in from the file, and to a second S3 location, each through the
 * product and as a ratio to the bare AWS SDK doing the same S3 calls on the same bytes in the same
 * run (the tier change also against the server's CopyObject alone).
 */
export async function benchS3(d: S3BenchDeps): Promise<void> {
  const s3dir = path.join(d.work, 's3rver');
  fs.mkdirSync(s3dir);
  const server = spawn(process.execPath, ['-e', S3RVER, require.resolve('s3rver'), s3dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let app: ChildProcess | undefined;
  let bare: Awaited<ReturnType<typeof bareSdk>> | undefined;
  let relay: S3Relay | undefined;
  try {
    const endpoint = `http://127.0.0.1:${await d.listeningPort(server)}`;
    bare = await bareSdk(d, endpoint);
    relay = await startRelay(endpoint, BUCKET, 'bare/object', (c) => d.listeningPort(c));

    // BENCH_CPU_PROF=<dir>: the server's CPU profiles (one per thread) are written there at its exit.
    const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
    app = spawn(process.execPath, [...profile, d.main], {
      env: appEnv(d, endpoint),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const port = await d.listeningPort(app);
    const pid = app.pid!;
    const peak = (): number => round(d.peakRssMb(pid), 1);
    // What each step's peak is to be read against: the server started, with an S3 store, idle.
    emit({ s3_server_idle_rss_mib: round(rssMb(pid), 1), s3_server_start_peak_rss_mib: peak() });
    const ds = await d.json(port, 'POST', '/api/datasets', { name: 'bench-s3', location: 'PUBLIC', tier: 'HOT' });
    const cpu = stepCpu(pid);
    const sdkPutMs = await bare.put();
    cpu.mark();
    const upMs = await d.timed(async () => {
      const r = await d.put(port, `/api/datasets/${ds.id}/content`, d.src, { 'x-api-key': d.apiKey });
      if (r.status !== 200) throw new Error(`S3 upload: ${r.status} ${r.text}`);
    });
    emit({
      op: 'S3 store: upload (HTTP PUT, sealed on a worker into streamed multipart parts)',
      mib_per_s: round(mibps(d.size, upMs), 1),
      ratio_vs_bare_sdk_upload: round(sdkPutMs / upMs),
      server_peak_rss_mib: peak(),
      ...cpu.took(),
    });
    const sdkGetMs = await bare.get();
    const relayMs = await bare.relayed(relay.port);
    const downMs = await d.timed(async () => {
      const r = await d.get(port, `/api/datasets/${ds.id}/content`);
      if (r.status !== 200 || r.bytes !== d.size) throw new Error(`S3 download: ${r.status}, ${r.bytes} bytes`);
    });
    emit({
      op: 'S3 store: download (ranged GET, verify + decrypt on a worker)',
      mib_per_s: round(mibps(d.size, downMs), 1),
      ratio_vs_bare_sdk_get: round(sdkGetMs / downMs),
      ratio_vs_sdk_relay: round(relayMs / downMs),
      server_peak_rss_mib: peak(),
    });
    const check = await d.get(port, `/api/datasets/${ds.id}/content`, { hash: true });
    if (check.sha256 !== d.sourceSha) throw new Error('S3 download: the content differs from the input');

    const move = async (to: { tier: string; location: string }): Promise<number> => {
      settle();
      cpu.mark();
      return d.timed(async () => {
        const m = await d.json(port, 'POST', `/api/datasets/${ds.id}/moves`, to);
        for (;;) {
          const s = await d.json(port, 'GET', `/api/migrations/${m.id}`);
          if (s.state === 'done') return;
          if (s.state === 'failed' || s.state === 'cancelled') throw new Error(`move ${s.state}: ${s.error ?? '?'}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      });
    };
    const sdkCopyMs = await bare.copy(1);
    const sdkTierMs = await bare.tierChange('COLD');
    const tierMs = await move({ tier: 'COLD', location: 'PUBLIC' });
    emit({
      op: 'S3 store: tier change PUBLIC/HOT → PUBLIC/COLD (server-side copy, journaled)',
      ms: round(tierMs, 0),
      ratio_vs_bare_copy_object: round(sdkCopyMs / tierMs),
      ratio_vs_bare_tier_change: round(sdkTierMs / tierMs),
      server_peak_rss_mib: peak(),
    });
    const sdkGetToFileMs = await bare.getToFile();
    const outMs = await move({ tier: 'HOT', location: 'ONPREM' });
    emit({
      op: 'S3 store: move PUBLIC/COLD → ONPREM/HOT (GET once, authenticated as it streams, written once, switched)',
      mib_per_s: round(mibps(d.size, outMs), 1),
      ratio_vs_bare_sdk_get_to_file: round(sdkGetToFileMs / outMs),
      server_peak_rss_mib: peak(),
    });
    await movesIn(bare, move, d.size, () => ({ server_peak_rss_mib: peak(), ...cpu.took() }));
    const back = await d.get(port, `/api/datasets/${ds.id}/content`, { hash: true });
    if (back.sha256 !== d.sourceSha) throw new Error('after the moves: the content differs from the input');
    emit({ s3_server_peak_rss_mib: peak() });
    // What the SDK alone needs for the same bytes, in a process of its own: a yardstick for the above.
    for (const op of ['put', 'get'] as const) emit(await bareSdkProcessPeak(endpoint, d.src, op));
  } finally {
    bare?.destroy();
    if (relay) await d.stop(relay.child);
    if (app) await d.stop(app);
    await d.stop(server);
  }
}

/** The server's environment: PUBLIC and PRIVATE on s3rver, ONPREM today's folder. */
function appEnv(d: S3BenchDeps, endpoint: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    DATA_DIR: path.join(d.work, 'data-s3'),
    API_KEY: d.apiKey,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    STORE_PUBLIC: `s3://${BUCKET}/dim`,
    STORE_PUBLIC_ENDPOINT: endpoint,
    STORE_PUBLIC_PATH_STYLE: 'true',
    // s3rver knows no GLACIER_IR.
    STORE_PUBLIC_CLASSES: 'HOT:STANDARD,WARM:STANDARD_IA,COLD:ONEZONE_IA',
    // A second S3 location on the same server, for the move S3 → S3.
    STORE_PRIVATE: `s3://${BUCKET}/private`,
    STORE_PRIVATE_ENDPOINT: endpoint,
    STORE_PRIVATE_PATH_STYLE: 'true',
    STORE_PRIVATE_CLASSES: 'HOT:STANDARD,WARM:STANDARD_IA,COLD:ONEZONE_IA',
    ...CREDS,
  };
}

/** The moves into S3: from a file (ONPREM), and from one S3 location to another, each paired with the bare SDK. */
async function movesIn(
  bare: Awaited<ReturnType<typeof bareSdk>>,
  move: (to: { tier: string; location: string }) => Promise<number>,
  size: number,
  after: () => Record<string, number>,
): Promise<void> {
  const sdkPutMs = await bare.put();
  const inMs = await move({ tier: 'HOT', location: 'PUBLIC' });
  emit({
    op: 'S3 store: move ONPREM/HOT → PUBLIC/HOT (file read once, authenticated as it streams, multipart upload)',
    mib_per_s: round(mibps(size, inMs), 1),
    ratio_vs_bare_sdk_upload: round(sdkPutMs / inMs),
    ...after(),
  });
  const sdkAcrossMs = await bare.acrossS3();
  const acrossMs = await move({ tier: 'HOT', location: 'PRIVATE' });
  emit({
    op: 'S3 store: move PUBLIC/HOT → PRIVATE/HOT (GET streamed into a multipart upload, authenticated as it passes)',
    mib_per_s: round(mibps(size, acrossMs), 1),
    ratio_vs_bare_sdk_get_to_upload: round(sdkAcrossMs / acrossMs),
    ...after(),
  });
}

/**
 * The bare AWS SDK moving the same bytes to the same server: what each product step is measured
 * against, each timed just before its product step (see `settle`), so both see the same disk state.
 */
async function bareSdk(d: S3BenchDeps, endpoint: string) {
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: CREDS.AWS_ACCESS_KEY_ID, secretAccessKey: CREDS.AWS_SECRET_ACCESS_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  /** Where the bare object is now: a tier change gives it a new key, as the product's does. */
  let current = 'bare/object';
  const step = async (baseline: string, run: () => Promise<unknown>, rate = true): Promise<number> => {
    settle();
    const ms = await d.timed(run);
    emit(rate ? { baseline, mib_per_s: round(mibps(d.size, ms), 1) } : { baseline, ms: round(ms, 0) });
    settle();
    return ms;
  };
  return {
    put: () =>
      step('bare AWS SDK Upload (8 MiB parts, 2 at once) to s3rver', () =>
        new Upload({
          client,
          params: { Bucket: BUCKET, Key: current, Body: fs.createReadStream(d.src) },
          partSize: PART_BYTES,
          queueSize: QUEUE,
        }).done(),
      ),
    get: () =>
      step('bare AWS SDK GetObject from s3rver, counted', async () => {
        const o = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: current }));
        if ((await drain(o.Body as Readable)) !== d.size) throw new Error('bare GET: size mismatch');
      }),
    // The same GetObject relayed by a plain Node server to the client: the second hop any server has.
    relayed: (port: number) =>
      step('bare AWS SDK GetObject relayed by a plain Node HTTP server (own process), counted', async () => {
        const r = await d.get(port, '/');
        if (r.status !== 200 || r.bytes !== d.size) throw new Error(`relayed GET: ${r.status}, ${r.bytes} bytes`);
      }),
    // What a tier change with a new key per copy must do at the least: the server's copy, its size
    // checked on both sides, and the source deleted (s3rver unlinks the 1 GiB file: ~0.25 s here).
    tierChange: (tier: string) =>
      step(
        'bare AWS SDK tier change inside s3rver (HEAD, CopyObject, HEAD, DeleteObject)',
        async () => {
          const to = `bare/${tier}/object`;
          const source = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: current }));
          await client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: to, CopySource: `${BUCKET}/${current}` }));
          const copy = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: to }));
          if (copy.ContentLength !== source.ContentLength) throw new Error('bare copy: size mismatch');
          await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: current }));
          current = to;
        },
        false,
      ),
    copy: (n: number) =>
      step(
        'bare AWS SDK CopyObject inside s3rver',
        () =>
          client.send(
            new CopyObjectCommand({ Bucket: BUCKET, Key: `bare/copy-${n}`, CopySource: `${BUCKET}/${current}` }),
          ),
        false,
      ),
    // What a move out of S3 does at the least: GET the bytes into a file, synced, and delete the source.
    getToFile: () =>
      step('bare AWS SDK GetObject into a synced file, then DeleteObject', async () => {
        const o = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: current }));
        const file = path.join(d.work, 'bare-get.bin');
        const fh = await fsp.open(file, 'w');
        for await (const piece of o.Body as Readable) await fh.write(piece as Buffer);
        await fh.sync();
        await fh.close();
        fs.rmSync(file);
        // A move takes its source away once the copy is switched in: s3rver unlinks the 1 GiB file.
        await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: current }));
      }),
    // A move between two S3 locations at the least: the GET streamed into a multipart upload, the source deleted.
    acrossS3: () =>
      step('bare AWS SDK GetObject streamed into an Upload (8 MiB parts, 2 at once), then DeleteObject', async () => {
        const to = 'bare/private/object';
        const o = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: current }));
        const body = o.Body as Readable;
        await new Upload({
          client,
          params: { Bucket: BUCKET, Key: to, Body: body },
          partSize: PART_BYTES,
          queueSize: QUEUE,
        }).done();
        await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: current }));
        current = to;
      }),
    destroy: () => client.destroy(),
  };
}

/**
 * Flushes the machine's dirty pages: s3rver writes every object through the page cache, and a
 * step that starts with gigabytes still being written back runs several times slower (four
 * CopyObjects of the same 1 GiB object in a row took 0.96, 0.83, 5.2 and 9.5 s here).
 */
function settle(): void {
  execFileSync('sync');
}
