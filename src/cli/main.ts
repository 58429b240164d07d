#!/usr/bin/env node
/**
 * `npm run cli -- <command>` (or `npx data-in-motion <command>` once built): operate a running
 * instance through its API. Long work shows a progress bar on stderr; results go to stdout.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { Transform } from 'node:stream';
import { ApiError, Client, loadDotEnv } from './client';
import { Progress } from './progress';

const USAGE = `usage: npm run cli -- [--url URL] [--key KEY] <command> [options]

  --url URL   the instance (default: $BASE_URL, else http://localhost:$PORT, PORT 8000 unless set;
              both read from the environment or ./.env, as npm start reads them)
  --key KEY   an API key (default: $API_KEY, else ./data/api-key of a local instance)

commands:
  status                                  health, readiness, datasets per placement, bus, scheduler
  datasets list [--name TEXT] [--limit N] datasets as a table
  datasets create NAME [--size-gb N]      a catalog-only dataset (add content with import)
  import PATH [--prefix TEXT]             a file, or every file under a directory, as datasets with content
  events send FILE [--batch N]            events from NDJSON or a JSON array ('-' reads stdin)
  move ID [--tier T] [--location L] [--wait]   move a dataset now
  scheduler run                           run the tier scheduler now
  scrub                                   read and authenticate every stored object now (exit 1 if any is damaged)
  keys status | keys rotate [--location L]...  key-encryption keys; rotate them (no data is rewritten)
  keys rewrite-headers                    rewrite objects of format version 1 so they carry their key (paced)
  keys rotate-master                      re-wrap all under the new master key now (exit 1 unless finished)
  users reset-password NAME               a new generated password for a page user (shown once; their sessions end)
  backup [FILE]                           a consistent copy of the database now, into BACKUP_DIR (FILE: its name)
  recover [--dry-run] [--json]            with the product STOPPED: rebuild or repair the catalog from the stores
  simulate ...                            the what-if replay (see npm run simulate -- --help)
`;

export class UsageError extends Error {}

interface Parsed {
  positional: string[];
  flags: Map<string, string[]>;
}

export function parse(argv: string[], booleans: readonly string[] = ['wait', 'json', 'help', 'dry-run']): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const name = a.slice(2);
    const eq = name.indexOf('=');
    let key = name;
    let value: string;
    if (eq >= 0) {
      key = name.slice(0, eq);
      value = name.slice(eq + 1);
    } else if (booleans.includes(name)) value = 'true';
    else {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`--${name} needs a value`);
      value = v;
    }
    flags.set(key, [...(flags.get(key) ?? []), value]);
  }
  return { positional, flags };
}

const one = (p: Parsed, name: string): string | undefined => p.flags.get(name)?.at(-1);

function positiveInt(p: Parsed, name: string, def: number): number {
  const v = one(p, name);
  if (v === undefined) return def;
  if (!/^\d+$/.test(v) || Number(v) < 1)
    throw new UsageError(`--${name}: expected a positive whole number, got "${v}"`);
  return Number(v);
}

async function status(c: Client): Promise<void> {
  const health = await c.request('GET', '/healthz');
  const ready = await c.request('GET', '/readyz');
  const datasets = await c.request('GET', '/api/datasets?limit=1');
  const stream = await c.request('GET', '/api/stream');
  const sched = await c.request('GET', '/api/scheduler');
  const lines = [
    `instance   ${c.baseUrl}`,
    `health     ${health.status === 200 ? 'alive' : `HTTP ${health.status}`}`,
    `ready      ${ready.status === 200 ? 'ready' : `not ready: ${JSON.stringify(ready.body)}`}`,
    `datasets   ${datasets.status === 200 ? 'ok' : `HTTP ${datasets.status}`}`,
    `bus        ${JSON.stringify(stream.body)}`,
  ];
  const s = sched.body as {
    running?: boolean;
    next_run_at?: string | null;
    runs?: { id: number; finished_at: string | null; datasets: number; moves: number; error: string | null }[];
  } | null;
  if (s?.runs) {
    const last = s.runs[0];
    lines.push(
      `scheduler  ${s.running ? 'running' : 'idle'}; next run ${s.next_run_at ?? 'not scheduled'}; last run ${last ? `#${last.id}: ${last.datasets} datasets, ${last.moves} moves${last.error ? `, error: ${last.error}` : ''}` : 'none yet'}`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}

async function listDatasets(c: Client, p: Parsed): Promise<void> {
  const q = new URLSearchParams({ limit: String(positiveInt(p, 'limit', 50)) });
  const name = one(p, 'name');
  if (name) q.set('name', name);
  const rows = await c.ok<
    {
      id: number;
      name: string;
      size_gb: number;
      current_tier: string;
      storage_type: string;
      access_count: number;
      catalog_only: boolean;
    }[]
  >('list datasets', 'GET', `/api/datasets?${q.toString()}`);
  const table = [['id', 'name', 'placement', 'size_gb', 'accesses', 'content']].concat(
    rows.map((d) => [
      String(d.id),
      d.name,
      `${d.storage_type}/${d.current_tier}`,
      String(d.size_gb),
      String(d.access_count),
      d.catalog_only ? 'catalog-only' : 'stored',
    ]),
  );
  const widths = table[0]!.map((_, k) => Math.max(...table.map((r) => r[k]!.length)));
  process.stdout.write(table.map((r) => r.map((v, k) => v.padEnd(widths[k]!)).join('  ')).join('\n') + '\n');
}

async function createDataset(c: Client, p: Parsed): Promise<void> {
  const name = p.positional[2];
  if (!name) throw new UsageError('datasets create: NAME is required');
  const body: Record<string, unknown> = { name };
  const size = one(p, 'size-gb');
  if (size !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(size)) throw new UsageError(`--size-gb: expected a number, got "${size}"`);
    body.size_gb = Number(size);
  }
  const d = await c.ok<{ id: number }>('create dataset', 'POST', '/api/datasets', body);
  process.stdout.write(JSON.stringify(d) + '\n');
}

/** Every regular file under `root` (or root itself), in a stable order. */
function filesUnder(root: string): string[] {
  const st = fs.statSync(root);
  if (st.isFile()) return [root];
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile()) out.push(full);
    }
  };
  walk(root);
  return out;
}

async function importPath(c: Client, p: Parsed): Promise<void> {
  const root = p.positional[1];
  if (!root) throw new UsageError('import: PATH is required');
  if (!fs.existsSync(root)) throw new UsageError(`import: ${root} does not exist`);
  const prefix = one(p, 'prefix') ?? '';
  const files = filesUnder(root);
  const total = files.reduce((n, f) => n + fs.statSync(f).size, 0);
  const bar = new Progress(`import ${files.length} file(s)`, total, 'bytes');
  let failed = 0;
  for (const file of files) {
    const rel = fs.statSync(root).isFile() ? path.basename(file) : path.relative(root, file).split(path.sep).join('/');
    const name = `${prefix}${rel}`;
    try {
      let id: number;
      const created = await c.request('POST', '/api/datasets', { name });
      if (created.status === 201) id = (created.body as { id: number }).id;
      else if (created.status === 409) {
        const found = await c.ok<{ id: number; name: string }[]>(
          'find dataset',
          'GET',
          `/api/datasets?name=${encodeURIComponent(name)}&limit=1000`,
        );
        const match = found.find((d) => d.name === name);
        if (!match) throw new ApiError(409, created.body, `create ${name}`);
        id = match.id;
      } else throw new ApiError(created.status, created.body, `create ${name}`);
      const size = fs.statSync(file).size;
      const counter = new Transform({
        transform(chunk: Buffer, _e, cb) {
          bar.add(chunk.length);
          cb(null, chunk);
        },
      });
      const up = await c.request('PUT', `/api/datasets/${id}/content`, undefined, {
        stream: fs.createReadStream(file).pipe(counter),
        length: size,
      });
      if (up.status !== 200) throw new ApiError(up.status, up.body, `upload ${name}`);
      process.stdout.write(
        JSON.stringify({
          id,
          name,
          bytes: size,
          sha256: (up.body as { uploaded?: { sha256?: string } }).uploaded?.sha256,
        }) + '\n',
      );
    } catch (err) {
      failed++;
      process.stderr.write(`\n${(err as Error).message}\n`);
    }
  }
  bar.finish();
  if (failed) throw new Error(`${failed} of ${files.length} file(s) failed`);
}

/**
 * An event without an `id` gets one, unique to this run, before its first send: the server
 * skips an id it has seen, so a batch sent again after a 503 or a timeout is counted once.
 * A line that is not a JSON object is sent as it is, for the server to name what is wrong.
 */
const runId = crypto.randomBytes(6).toString('hex');
let nextSeq = 0;
function withId(line: string): string {
  let ev: unknown;
  try {
    ev = JSON.parse(line);
  } catch {
    return line;
  }
  if (ev === null || typeof ev !== 'object' || Array.isArray(ev) || 'id' in ev) return line;
  return JSON.stringify({ ...ev, id: `cli-${runId}-${nextSeq++}` });
}

async function sendEvents(c: Client, p: Parsed): Promise<void> {
  const file = p.positional[2];
  if (!file) throw new UsageError('events send: FILE is required (NDJSON or a JSON array; - for stdin)');
  const batchSize = positiveInt(p, 'batch', 1_000);
  const input = file === '-' ? process.stdin : fs.createReadStream(file);
  const total = file === '-' ? 0 : fs.statSync(file).size;
  const bar = new Progress('events', total, 'bytes');
  let sent = 0;
  let batch: string[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const body = batch.join('\n');
    for (let attempt = 0; ; attempt++) {
      const a = await c.request('POST', '/api/events', body, { contentType: 'application/x-ndjson' });
      if (a.status === 202) break;
      // 503: not acknowledged, though some events may still have reached the log. Every event
      // carries an id (see withId), so sending the same batch again never counts one twice.
      if (a.status === 503 && attempt < 20) {
        await new Promise((r) => setTimeout(r, 1_000 * Math.min(5, attempt + 1)));
        continue;
      }
      throw new ApiError(a.status, a.body, `send events ${sent + 1}..${sent + batch.length}`);
    }
    sent += batch.length;
    batch = [];
  };
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let first = true;
  let arrayText: string | undefined;
  for await (const line of lines) {
    bar.add(Buffer.byteLength(line) + 1);
    if (first && line.trimStart().startsWith('[')) arrayText = '';
    first = false;
    if (arrayText !== undefined) {
      arrayText += line + '\n';
      continue;
    }
    if (line.trim() === '') continue;
    batch.push(withId(line));
    if (batch.length >= batchSize) await flush();
  }
  if (arrayText !== undefined) {
    const items = JSON.parse(arrayText) as unknown[];
    if (!Array.isArray(items)) throw new UsageError(`${file}: expected a JSON array or NDJSON`);
    for (const it of items) {
      batch.push(withId(JSON.stringify(it)));
      if (batch.length >= batchSize) await flush();
    }
  }
  await flush();
  bar.finish();
  process.stdout.write(JSON.stringify({ accepted: sent }) + '\n');
}

async function move(c: Client, p: Parsed): Promise<void> {
  const id = p.positional[1];
  if (!id || !/^\d+$/.test(id)) throw new UsageError('move: ID (a dataset id) is required');
  const body: Record<string, string> = {};
  if (one(p, 'tier')) body.tier = one(p, 'tier')!;
  if (one(p, 'location')) body.location = one(p, 'location')!;
  if (!body.tier && !body.location) throw new UsageError('move: give --tier and/or --location');
  let m = await c.ok<{ id: number; state: string; bytes_total: number; bytes_done: number; error: string | null }>(
    'move',
    'POST',
    `/api/datasets/${id}/moves`,
    body,
  );
  if (one(p, 'wait') !== 'true') return void process.stdout.write(JSON.stringify(m) + '\n');
  const bar = new Progress(`move ${m.id}`, m.bytes_total, 'bytes');
  let shown = 0;
  while (!['done', 'failed', 'cancelled'].includes(m.state)) {
    await new Promise((r) => setTimeout(r, 250));
    m = await c.ok('move status', 'GET', `/api/migrations/${m.id}`);
    bar.add(m.bytes_done - shown);
    shown = m.bytes_done;
  }
  bar.finish();
  process.stdout.write(JSON.stringify(m) + '\n');
  if (m.state !== 'done') throw new Error(`move ${m.id} ${m.state}${m.error ? `: ${m.error}` : ''}`);
}

export async function main(argv: string[]): Promise<number> {
  let p: Parsed;
  try {
    p = parse(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const [cmd, sub] = p.positional;
  if (!cmd || one(p, 'help') === 'true' || cmd === 'help') {
    process.stdout.write(USAGE);
    return cmd ? 0 : 2;
  }
  if (cmd === 'simulate') {
    process.argv = [process.argv[0]!, 'simulate', ...argv.slice(argv.indexOf('simulate') + 1)];
    const { runSimulateCli } = await import('../tiering');
    await runSimulateCli();
    return Number(process.exitCode ?? 0);
  }
  if (cmd === 'recover') {
    const { recover } = await import('./recover');
    return recover({ dryRun: one(p, 'dry-run') === 'true', json: one(p, 'json') === 'true' }).catch((err: unknown) => {
      process.stderr.write(`recover: ${(err as Error).message}\n`);
      return 1;
    });
  }
  const c = new Client(one(p, 'url') ?? Client.defaultUrl(process.env), Client.resolveKey(one(p, 'key'), process.env));
  try {
    if (cmd === 'status') await status(c);
    else if (cmd === 'datasets' && sub === 'list') await listDatasets(c, p);
    else if (cmd === 'datasets' && sub === 'create') await createDataset(c, p);
    else if (cmd === 'import') await importPath(c, p);
    else if (cmd === 'events' && sub === 'send') await sendEvents(c, p);
    else if (cmd === 'move') await move(c, p);
    else if (cmd === 'scheduler' && sub === 'run')
      process.stdout.write(JSON.stringify(await c.ok('run the scheduler', 'POST', '/api/scheduler/run')) + '\n');
    else if (cmd === 'backup') {
      const file = p.positional[1];
      process.stdout.write(JSON.stringify(await c.ok('back up', 'POST', '/api/backups', file ? { file } : {})) + '\n');
    } else if (cmd === 'scrub') {
      const r = await c.ok<{ last?: { damaged?: number } | null }>('scrub', 'POST', '/api/scrub?wait=true');
      process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      if ((r.last?.damaged ?? 0) > 0) return 1;
    } else if (cmd === 'keys' && sub === 'status')
      process.stdout.write(JSON.stringify(await c.ok('key status', 'GET', '/api/keys'), null, 2) + '\n');
    else if (cmd === 'keys' && sub === 'rewrite-headers')
      process.stdout.write(JSON.stringify(await c.ok('rewrite', 'POST', '/api/keys/rewrite-headers'), null, 2) + '\n');
    else if (cmd === 'keys' && sub === 'rotate-master') {
      const r = await c.ok<{ finished: boolean }>('rotate the master key', 'POST', '/api/keys/rotate-master');
      process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      return r.finished ? 0 : 1;
    } else if (cmd === 'keys' && sub === 'rotate') {
      const locations = p.flags.get('location');
      const body = locations ? { locations } : {};
      process.stdout.write(JSON.stringify(await c.ok('rotate keys', 'POST', '/api/keys/rotate', body), null, 2) + '\n');
    } else if (cmd === 'users' && sub === 'reset-password') {
      const name = p.positional[2];
      if (!name) throw new UsageError('users reset-password: which user? (e.g. admin)');
      const r = await c.ok<{ username: string; password: string }>(
        'reset the password',
        'POST',
        `/api/users/${encodeURIComponent(name)}/password`,
      );
      process.stdout.write(`user ${r.username}: new password ${r.password}  (shown once; sign in at /login)\n`);
    } else throw new UsageError(`unknown command: ${p.positional.join(' ')}`);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${USAGE}`);
      return 2;
    }
    process.stderr.write(`${(err as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  loadDotEnv();
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
