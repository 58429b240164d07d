/**
 * HTTP load generator for the benchmarks, run as a separate process so it does not share the
 * server's event loop. Usage: node loadgen.js '<json options>'; prints one JSON result line.
 * Every event carries ts = its send time, so the server side can measure visibility latency.
 */
import http from 'node:http';

interface Options {
  url: string;
  /** Several instances: connection w sends to urls[w % urls.length] (`url` is then ignored). */
  urls?: string[];
  path: string;
  apiKey: string;
  /** 'batch': arrays of `batchSize` events; 'single': one event object per request. */
  mode: 'batch' | 'single';
  batchSize: number;
  concurrency: number;
  durationMs: number;
  /** Requests per second over all connections; 0 = as fast as possible. */
  rate: number;
  datasetIds: number[];
  /**
   * A request not answered within this many ms is abandoned (its socket destroyed) and counted in
   * `timed_out`, so a request the server never answers shows in the result instead of hanging the run.
   */
  timeoutMs?: number;
}

const opts = JSON.parse(process.argv[2] ?? '{}') as Options;
const targets = (opts.urls ?? [opts.url]).map((u) => new URL(u));
const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
const timeoutMs = opts.timeoutMs ?? 30_000;
let seq = 0;
let timedOut = 0;

function body(): string {
  const now = Date.now();
  const ev = (): string => {
    const id = opts.datasetIds[seq++ % opts.datasetIds.length];
    return `{"dataset_id":${id},"type":"read","bytes":4096,"ts":${now}}`;
  };
  if (opts.mode === 'single') return ev();
  const parts = new Array<string>(opts.batchSize);
  for (let i = 0; i < opts.batchSize; i++) parts[i] = ev();
  return `[${parts.join(',')}]`;
}

/** The answer's status; 0 for a connection error, -1 for no answer within `timeoutMs`. */
function send(payload: string, target: URL): Promise<number> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      timedOut++;
      resolve(-1);
      req.destroy();
    }, timeoutMs);
    const done = (status: number): void => {
      clearTimeout(timer);
      resolve(status);
    };
    const req = http.request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: opts.path,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          'x-api-key': opts.apiKey,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode ?? 0));
      },
    );
    req.on('error', () => done(0));
    req.end(payload);
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  const end = started + opts.durationMs;
  let ok = 0;
  let failed = 0;
  const statuses: Record<string, number> = {};
  const perWorkerInterval = opts.rate > 0 ? (1000 * opts.concurrency) / opts.rate : 0;
  const worker = async (w: number): Promise<void> => {
    let next = started + (perWorkerInterval * w) / opts.concurrency;
    while (Date.now() < end) {
      if (perWorkerInterval > 0) {
        const wait = next - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        next += perWorkerInterval;
      }
      const status = await send(body(), targets[w % targets.length]!);
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status >= 200 && status < 300) ok++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, (_, i) => worker(i)));
  const elapsed = Date.now() - started;
  const events = ok * (opts.mode === 'batch' ? opts.batchSize : 1);
  process.stdout.write(
    JSON.stringify({ ok, failed, statuses, events, elapsed_ms: elapsed, timed_out: timedOut }) + '\n',
  );
  agent.destroy();
}

void main();
