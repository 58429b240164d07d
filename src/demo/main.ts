/**
 * `npm run demo [-- --kafka] [--speed SECONDS_PER_DAY] [--workload NAME] [--datasets N]`:
 * the product on its embedded defaults (or librdkafka's mock cluster with --kafka), a generated
 * catalog (some datasets with small real encrypted content, the others catalog-only), and a
 * live event generator playing a named replay workload against the running instance through
 * its HTTP API, with time accelerated. Open the printed URL and watch it move.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { App } from '../app';
import { Client, parse } from '../cli';
import { parseConfig } from '../config';
import { AcceleratedClock, createLogger } from '../platform';
import { startMockKafka, type MockKafka } from '../stream';
import { WORKLOADS, type Trace } from '../tiering';

const DAY = 86_400_000;
const MIB = 1024 * 1024;

interface DemoOptions {
  kafka: boolean;
  secondsPerDay: number;
  workload: string;
  datasets: number;
  port: number;
  dataDir: string;
}

function options(argv: string[]): DemoOptions {
  const p = parse(argv, ['kafka', 'help']);
  const one = (n: string): string | undefined => p.flags.get(n)?.at(-1);
  if (one('help') === 'true') {
    process.stdout.write(
      `usage: npm run demo [-- --kafka] [--speed SECONDS_PER_SIMULATED_DAY (default 1.5)] [--workload ${Object.keys(WORKLOADS).join('|')}] [--datasets N (default 300)] [--port 8000] [--data-dir ./data-demo]\n`,
    );
    process.exit(0);
  }
  const num = (n: string, def: number, min: number): number => {
    const v = one(n);
    if (v === undefined) return def;
    const x = Number(v);
    if (!Number.isFinite(x) || x < min) throw new Error(`--${n}: expected a number ≥ ${min}, got "${v}"`);
    return x;
  };
  const workload = one('workload') ?? 'mix';
  if (!WORKLOADS[workload])
    throw new Error(`--workload: unknown workload "${workload}" (known: ${Object.keys(WORKLOADS).join(', ')})`);
  return {
    kafka: one('kafka') === 'true',
    secondsPerDay: num('speed', 1.5, 0.1),
    workload,
    datasets: Math.round(num('datasets', 300, 1)),
    port: Math.round(num('port', 8000, 0)),
    dataDir: path.resolve(one('data-dir') ?? './data-demo'),
  };
}

/** The demo's own marker: only a directory holding it is ever deleted by the demo. */
const MARKER = '.data-in-motion-demo';

/**
 * A fresh demo each time, in a data directory of its own. A directory the demo did not create
 * (no marker) is never deleted: the demo refuses to start instead.
 */
function freshDataDir(dir: string): void {
  if (fs.existsSync(dir)) {
    const entries = fs.readdirSync(dir);
    if (entries.length > 0 && !entries.includes(MARKER)) {
      throw new Error(
        `--data-dir ${dir} exists and was not created by the demo: choose another directory (the demo deletes its own at each start)`,
      );
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, MARKER), 'created by npm run demo; deleted and re-created at its next start\n');
}

interface Running {
  app: App;
  client: Client;
  url: string;
  apiKey: string;
  mock: MockKafka | undefined;
  signIn: () => string;
}

/** The product, in this process, on the demo's clock and data directory. */
async function startProduct(o: DemoOptions, clock: AcceleratedClock): Promise<Running> {
  // The first start's operator password is logged once; the demo shows it in its banner instead.
  let signIn = '';
  const logger = createLogger('warn', {}, (line) => {
    const rec = JSON.parse(line) as { event?: string; username?: string; password?: string };
    if (rec.event === 'auth.first_user') signIn = `sign in as ${rec.username} / ${rec.password}`;
    else if (rec.event !== 'storage.master_key_generated') process.stderr.write(line);
  });
  freshDataDir(o.dataDir);
  const env: Record<string, string> = {
    DATA_DIR: o.dataDir,
    PORT: String(o.port),
    API_KEY: `demo-${crypto.randomBytes(9).toString('base64url')}`,
    LOG_LEVEL: 'warn',
    // Decisions every few real seconds; moves slow enough that their progress shows.
    SCHEDULER_INTERVAL: `${Math.max(1, Math.round(o.secondsPerDay))}s`,
    MOVE_BANDWIDTH: '4mb',
    MOVE_CONCURRENCY: '4',
    FORECAST_SAMPLE: '100',
    POLICY_MIN_MODEL_UPDATES: '300',
    POLICY_COOLDOWN: '3d',
  };
  let mock: MockKafka | undefined;
  if (o.kafka) {
    mock = await startMockKafka();
    Object.assign(env, {
      KAFKA_BOOTSTRAP: mock.bootstrap,
      KAFKA_TOPIC: 'demo-events',
      KAFKA_ADMIN_TIMEOUT_MS: '300',
      KAFKA_EXTRA_CONFIG: 'topic.metadata.refresh.interval.ms=500',
    });
  }
  const app = new App(parseConfig(env), { clock, logger });
  await app.start({ listen: true });
  const url = `http://localhost:${app.port}`;
  const apiKey = env.API_KEY!;
  return { app, client: new Client(url, apiKey), url, apiKey, mock, signIn: () => signIn };
}

/** The catalog: every dataset with its declared size; every third small one with real bytes. */
async function loadCatalog(client: Client, trace: Trace): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  let withContent = 0;
  for (const [i, d] of trace.catalog.datasets.entries()) {
    const created = await client.ok<{ id: number }>('create dataset', 'POST', '/api/datasets', {
      name: d.name,
      size_gb: Math.round((d.size_bytes / 1024 ** 3) * 1000) / 1000,
    });
    ids.set(d.name, created.id);
    if (i % 3 === 0) {
      const bytes = crypto.randomBytes(Math.min(d.size_bytes, 256 * 1024 + Math.floor(Math.random() * 2 * MIB)));
      await client.ok('upload', 'PUT', `/api/datasets/${created.id}/content`, undefined, {
        stream: Readable.from([bytes]),
        length: bytes.length,
      });
      withContent++;
    }
  }
  process.stdout.write(
    `catalog: ${ids.size} datasets (${withContent} with encrypted content, the rest catalog-only)\n`,
  );
  return ids;
}

/** The event player: events go out when simulated time reaches them, in batches, with ids. */
async function playEvents(
  r: Running,
  trace: Trace,
  ids: Map<string, number>,
  clock: AcceleratedClock,
  start: number,
  stopping: () => boolean,
): Promise<void> {
  let sent = 0;
  let batch: object[] = [];
  let n = 0;
  const flush = async (): Promise<void> => {
    if (!batch.length || stopping()) return;
    const body = batch.map((e) => JSON.stringify(e)).join('\n');
    batch = [];
    const res = await r.client.request('POST', '/api/events', body, { contentType: 'application/x-ndjson' });
    if (res.status === 202) sent += (res.body as { accepted: number }).accepted;
    else process.stderr.write(`events: HTTP ${res.status} ${JSON.stringify(res.body)}\n`);
  };
  const status = setInterval(() => {
    process.stdout.write(
      `\r${new Date(clock.now()).toISOString().slice(0, 10)}  events sent ${sent.toLocaleString('en-US')}   `,
    );
  }, 1_000);
  status.unref();
  for (const e of trace.events()) {
    if (stopping()) return;
    // Datasets exist "now" in the product: creation times in the trace before now are history.
    const wait = clock.realMsUntil(e.ts);
    if (wait > 0) {
      await flush();
      await new Promise((res) => setTimeout(res, Math.min(wait, 1_000)));
      // Still early (waits are capped to keep batches flowing): wait the rest.
      if (clock.now() < e.ts) await new Promise((res) => setTimeout(res, clock.realMsUntil(e.ts)));
    }
    if (e.ts < start) continue;
    batch.push({
      id: `demo-${n++}`,
      dataset_id: ids.get(e.dataset),
      type: e.type,
      bytes: e.bytes,
      ts: e.ts,
      ...(e.scan ? { scan: true } : {}),
    });
    if (batch.length >= 1_000) await flush();
  }
  await flush();
  if (!stopping())
    process.stdout.write('\nthe workload has played to its end; the product keeps running until Ctrl-C\n');
}

let stopping = false;

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  const start = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
  const clock = new AcceleratedClock(start, DAY / (o.secondsPerDay * 1000));
  const r = await startProduct(o, clock);
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping the demo…\n');
    await r.app.stop();
    await r.mock?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());

  const trace = WORKLOADS[o.workload]!.generate({ datasets: o.datasets, days: 365, start });
  const bus = r.mock ? `Kafka (librdkafka mock cluster at ${r.mock.bootstrap})` : 'embedded log';
  process.stdout.write(
    [
      '',
      `Data in Motion demo: ${r.url}   (${r.signIn() || 'sign in with your existing user'}; API key: ${r.apiKey})`,
      `bus: ${bus}; workload "${o.workload}": ${trace.catalog.description}`,
      `time: one simulated day every ${o.secondsPerDay} s. Ctrl-C stops it (its data is in ${o.dataDir}).`,
      '',
    ].join('\n'),
  );
  const ids = await loadCatalog(r.client, trace);
  await playEvents(r, trace, ids, clock, start, () => stopping);
}

main().catch((err: unknown) => {
  // Requests cut short by Ctrl-C are the stop, not a failure.
  if (stopping) return;
  process.stderr.write(`demo failed: ${(err as Error).message}\n`);
  process.exit(1);
});
