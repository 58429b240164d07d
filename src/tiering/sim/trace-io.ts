/** A trace on disk: `<name>.catalog.json` and `<name>.jsonl` (see trace.ts), written and read back. */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LOCATIONS, TIERS } from '../placements';
import type { Trace, TraceCatalog, TraceDataset, TraceEvent } from './trace';

const DAY_MS = 86_400_000;

export function tracePaths(dir: string, name: string): { catalogPath: string; eventsPath: string } {
  return { catalogPath: path.join(dir, `${name}.catalog.json`), eventsPath: path.join(dir, `${name}.jsonl`) };
}

/** One event as a JSON line, fields in a fixed order, `scan` only when true. */
function eventLine(ev: TraceEvent): string {
  return `{"ts":${ev.ts},"dataset":${JSON.stringify(ev.dataset)},"type":"${ev.type}","bytes":${ev.bytes}${ev.scan ? ',"scan":true' : ''}}\n`;
}

/** The catalog as JSON with one dataset per line (diffable, greppable). */
function catalogJson(catalog: TraceCatalog): string {
  const { datasets, ...head } = catalog;
  const headJson = JSON.stringify(head, null, 2);
  const lines = datasets.map((d) => '    ' + JSON.stringify(d));
  return `${headJson.slice(0, -2)},\n  "datasets": [\n${lines.join(',\n')}\n  ]\n}\n`;
}

/**
 * Writes `<dir>/<name>.catalog.json` and `<dir>/<name>.jsonl`, streaming the events (with
 * backpressure) so a trace of any length needs one chunk of memory. Each file is written under a
 * temporary name and renamed when complete, so a crashed write leaves no half trace behind.
 */
export async function writeTrace(
  trace: Trace,
  dir: string,
  name: string,
): Promise<{ catalogPath: string; eventsPath: string }> {
  await fs.promises.mkdir(dir, { recursive: true });
  const { catalogPath, eventsPath } = tracePaths(dir, name);
  const tmpEvents = `${eventsPath}.tmp-${process.pid}`;
  const tmpCatalog = `${catalogPath}.tmp-${process.pid}`;
  function* chunks(): Generator<string> {
    let buf = '';
    for (const ev of trace.events()) {
      buf += eventLine(ev);
      if (buf.length >= 1 << 18) {
        yield buf;
        buf = '';
      }
    }
    if (buf) yield buf;
  }
  try {
    await pipeline(Readable.from(chunks()), fs.createWriteStream(tmpEvents));
    await fs.promises.writeFile(tmpCatalog, catalogJson(trace.catalog));
    await fs.promises.rename(tmpEvents, eventsPath);
    await fs.promises.rename(tmpCatalog, catalogPath);
  } catch (err) {
    await Promise.all([fs.promises.rm(tmpEvents, { force: true }), fs.promises.rm(tmpCatalog, { force: true })]);
    throw err;
  }
  return { catalogPath, eventsPath };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNonNegativeInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Parses and validates a catalog; errors name the file and the field (`datasets[3].size_bytes`). */
function parseCatalog(text: string, file: string): TraceCatalog {
  const fail = (field: string, msg: string): never => {
    throw new Error(`${file}: ${field}: ${msg}`);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return fail('(file)', `invalid JSON (${(err as Error).message})`);
  }
  if (!isObject(raw)) return fail('(file)', 'must be a JSON object');
  if (typeof raw['workload'] !== 'string') fail('workload', 'must be a string');
  if (typeof raw['description'] !== 'string') fail('description', 'must be a string');
  if (!Number.isSafeInteger(raw['start'])) fail('start', 'must be integer ms since the epoch');
  if (!Number.isSafeInteger(raw['days']) || (raw['days'] as number) < 1) fail('days', 'must be a positive integer');
  if (!Array.isArray(raw['datasets'])) fail('datasets', 'must be an array');
  const seen = new Set<string>();
  const datasets = (raw['datasets'] as unknown[]).map((d, i): TraceDataset => {
    const at = `datasets[${i}]`;
    if (!isObject(d)) return fail(at, 'must be an object');
    for (const key of Object.keys(d)) {
      if (!['name', 'size_bytes', 'created_at', 'location', 'tier'].includes(key))
        fail(`${at}.${key}`, 'unknown field');
    }
    if (typeof d['name'] !== 'string' || d['name'] === '') fail(`${at}.name`, 'must be a non-empty string');
    const name = d['name'] as string;
    if (seen.has(name)) fail(`${at}.name`, `duplicate dataset ${JSON.stringify(name)}`);
    seen.add(name);
    if (!isNonNegativeInt(d['size_bytes'])) fail(`${at}.size_bytes`, 'must be a non-negative integer');
    if (!Number.isSafeInteger(d['created_at'])) fail(`${at}.created_at`, 'must be integer ms since the epoch');
    const ds: TraceDataset = { name, size_bytes: d['size_bytes'] as number, created_at: d['created_at'] as number };
    if (d['location'] !== undefined) {
      if (!(LOCATIONS as readonly unknown[]).includes(d['location']))
        fail(`${at}.location`, `must be one of ${LOCATIONS.join(', ')}`);
      ds.location = d['location'] as TraceDataset['location'];
    }
    if (d['tier'] !== undefined) {
      if (!(TIERS as readonly unknown[]).includes(d['tier'])) fail(`${at}.tier`, `must be one of ${TIERS.join(', ')}`);
      ds.tier = d['tier'] as TraceDataset['tier'];
    }
    return ds;
  });
  return {
    workload: raw['workload'] as string,
    description: raw['description'] as string,
    start: raw['start'] as number,
    days: raw['days'] as number,
    datasets,
  };
}

const EVENT_FIELDS = new Set(['ts', 'dataset', 'type', 'bytes', 'scan']);
const MAX_LINE_BYTES = 1 << 20;

/**
 * Reads a trace from its two files. The catalog is read and validated now; the events are read
 * lazily, line by line, each time `events()` is iterated, and validated as they are read: a bad
 * line throws an Error naming the file, line number and field, e.g.
 * `t.jsonl:3: bytes: must be a non-negative integer, got -5`. Blank lines are skipped; unknown
 * fields are rejected (a misspelt `scan` would otherwise silently warm a dataset).
 */
export function readTrace(catalogPath: string, eventsPath: string): Trace {
  const catalog = parseCatalog(fs.readFileSync(catalogPath, 'utf8'), catalogPath);
  fs.accessSync(eventsPath, fs.constants.R_OK); // a missing file fails now, not at the first iteration
  const byName = new Map(catalog.datasets.map((d) => [d.name, d]));
  const end = catalog.start + catalog.days * DAY_MS;

  function parseLine(text: string, lineNo: number, prevTs: number): TraceEvent {
    const fail = (field: string, msg: string): never => {
      throw new Error(`${eventsPath}:${lineNo}: ${field}: ${msg}`);
    };
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      return fail('(line)', `invalid JSON (${(err as Error).message})`);
    }
    if (!isObject(raw)) return fail('(line)', 'must be a JSON object');
    for (const key of Object.keys(raw)) if (!EVENT_FIELDS.has(key)) fail(key, 'unknown field');
    const { ts, dataset, type, bytes, scan } = raw;
    if (typeof dataset !== 'string') return fail('dataset', 'missing or not a string');
    const ds = byName.get(dataset);
    if (!ds) return fail('dataset', `unknown dataset ${JSON.stringify(dataset)}`);
    if (type !== 'read' && type !== 'write')
      return fail('type', `must be "read" or "write", got ${JSON.stringify(type)}`);
    if (!isNonNegativeInt(bytes)) return fail('bytes', `must be a non-negative integer, got ${JSON.stringify(bytes)}`);
    if (scan !== undefined && typeof scan !== 'boolean')
      return fail('scan', `must be a boolean, got ${JSON.stringify(scan)}`);
    if (!Number.isSafeInteger(ts)) return fail('ts', `must be integer ms since the epoch, got ${JSON.stringify(ts)}`);
    const t = ts as number;
    if (t < catalog.start || t >= end) fail('ts', `${t} is outside the trace [${catalog.start}, ${end})`);
    if (t < prevTs) fail('ts', `out of order: ${t} < previous event's ${prevTs}`);
    if (t < ds.created_at) fail('ts', `${t} precedes the creation of ${dataset} at ${ds.created_at}`);
    const ev: TraceEvent = { ts: t, dataset, type, bytes };
    if (scan) ev.scan = true;
    return ev;
  }

  function* events(): Generator<TraceEvent> {
    const fd = fs.openSync(eventsPath, 'r');
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      let carry: Buffer = Buffer.alloc(0);
      let lineNo = 0;
      let prevTs = -Infinity;
      const handle = (text: string): TraceEvent | undefined => {
        lineNo++;
        if (text.trim() === '') return undefined;
        const ev = parseLine(text, lineNo, prevTs);
        prevTs = ev.ts;
        return ev;
      };
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        const chunk = carry.length > 0 ? Buffer.concat([carry, buf.subarray(0, n)]) : buf.subarray(0, n);
        let pos = 0;
        for (let nl = chunk.indexOf(10, pos); nl !== -1; nl = chunk.indexOf(10, pos)) {
          const ev = handle(chunk.toString('utf8', pos, nl));
          pos = nl + 1;
          if (ev) yield ev;
        }
        carry = Buffer.from(chunk.subarray(pos)); // a copy: buf is reused by the next read
        if (carry.length > MAX_LINE_BYTES)
          throw new Error(`${eventsPath}:${lineNo + 1}: (line): longer than ${MAX_LINE_BYTES} bytes`);
      }
      if (carry.length > 0) {
        const ev = handle(carry.toString('utf8'));
        if (ev) yield ev;
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  return { catalog, events };
}
