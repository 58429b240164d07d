/**
 * Writes a synthetic workload's trace files for the replay:
 *
 *   node dist/src/tiering/sim/generate.js --workload mix --out DIR [--datasets N] [--days D] [--seed S]
 *                                         [--start 2025-01-01] [--name NAME]
 *
 * writes DIR/NAME.catalog.json and DIR/NAME.jsonl (NAME defaults to the workload) and prints a
 * one-line JSON summary. `--help` lists the workloads.
 */
import { writeTrace } from './trace-io';
import { SummaryCounter } from './trace-summary';
import { DEFAULT_OPTIONS, WORKLOADS, type GenerateOptions } from './workloads';
import type { Trace } from './trace';

interface Args extends GenerateOptions {
  workload: string;
  out: string;
  name: string;
}

class UsageError extends Error {}

function usage(): string {
  const width = Math.max(...Object.keys(WORKLOADS).map((n) => n.length));
  const d = DEFAULT_OPTIONS;
  return [
    'usage: generate --workload NAME --out DIR [--datasets N] [--days D] [--seed S] [--start DATE] [--name FILE_NAME]',
    '',
    `  --datasets N   number of datasets (default ${d.datasets})`,
    `  --days D       length of the trace in days (default ${d.days})`,
    `  --seed S       PRNG seed; the same seed gives the same trace (default ${d.seed})`,
    `  --start DATE   ISO date/time or ms since the epoch (default ${new Date(d.start).toISOString()})`,
    '  --name NAME    file name stem: writes NAME.catalog.json and NAME.jsonl (default: the workload)',
    '',
    'workloads:',
    ...Object.values(WORKLOADS).map((w) => `  ${w.name.padEnd(width)}  ${w.description}`),
  ].join('\n');
}

function parseIntArg(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n) || n < min)
    throw new UsageError(`${flag}: expected an integer >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

function parseStart(value: string): number {
  const n = /^-?\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isSafeInteger(n))
    throw new UsageError(`--start: expected an ISO date or ms since the epoch, got ${JSON.stringify(value)}`);
  return n;
}

/** Parses argv (without node and the script); returns undefined for --help. */
export function parseArgs(argv: readonly string[]): Args | undefined {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return undefined;
    const m = /^--([a-z]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
    const flag = m[1]!;
    if (!['workload', 'out', 'datasets', 'days', 'seed', 'start', 'name'].includes(flag))
      throw new UsageError(`unknown option --${flag}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${flag}: missing value`);
    values.set(flag, value);
  }
  const workload = values.get('workload');
  if (!workload) throw new UsageError('--workload is required');
  if (!WORKLOADS[workload])
    throw new UsageError(
      `--workload: unknown workload ${JSON.stringify(workload)} (one of ${Object.keys(WORKLOADS).join(', ')})`,
    );
  const out = values.get('out');
  if (!out) throw new UsageError('--out is required');
  const name = values.get('name') ?? workload;
  if (!/^[\w.-]+$/.test(name)) throw new UsageError(`--name: expected a file name stem, got ${JSON.stringify(name)}`);
  const args: Args = { workload, out, name };
  const datasets = values.get('datasets');
  if (datasets !== undefined) args.datasets = parseIntArg('--datasets', datasets, 1);
  const days = values.get('days');
  if (days !== undefined) args.days = parseIntArg('--days', days, 1);
  const seed = values.get('seed');
  if (seed !== undefined) args.seed = parseIntArg('--seed', seed, Number.MIN_SAFE_INTEGER);
  const start = values.get('start');
  if (start !== undefined) args.start = parseStart(start);
  return args;
}

export async function main(argv: readonly string[]): Promise<number> {
  let args: Args | undefined;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`generate: ${err.message}\n\n${usage()}\n`);
    return 2;
  }
  if (!args) {
    process.stdout.write(usage() + '\n');
    return 0;
  }
  const t0 = Date.now();
  const trace = WORKLOADS[args.workload]!.generate({
    seed: args.seed,
    datasets: args.datasets,
    days: args.days,
    start: args.start,
  });
  // Count while the events stream to disk, so the trace is generated once.
  const counter = new SummaryCounter();
  const counted: Trace = {
    catalog: trace.catalog,
    *events() {
      for (const ev of trace.events()) {
        counter.add(ev);
        yield ev;
      }
    },
  };
  const { catalogPath, eventsPath } = await writeTrace(counted, args.out, args.name);
  const summary = {
    ...counter.summary(trace.catalog),
    seed: args.seed ?? DEFAULT_OPTIONS.seed,
    catalog: catalogPath,
    events_file: eventsPath,
    elapsed_ms: Date.now() - t0,
  };
  process.stdout.write(JSON.stringify(summary) + '\n');
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`generate: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
