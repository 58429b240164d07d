/**
 * `npm run simulate -- --workload <name|file> [--policy <name>]… [--json]`: replays an access
 * trace through the real predictor, cost model and policy on a simulated clock, next to the
 * baseline policies, the offline optimum and (for a named workload) the informed bound, and
 * prints what each would have cost.
 */
import fs from 'node:fs';
import { CostModel } from '../cost';
import { DEFAULT_CATALOG, parseCatalog } from '../catalog';
import { DEFAULT_POLICY, type PolicySettings } from '../decision';
import { TieringPolicy } from '../policy';
import { Predictor } from '../predictor';
import { matrixCell, matrixTable, PRICE_VARIANTS, type MatrixCell } from './matrix';
import { BASELINE_POLICIES, productPolicy } from './policies';
import { PRETRAIN_SEED_OFFSET, pretrainedPredictor } from './pretrain';
import { simulate, type SimResult } from './runner';
import type { Trace } from './trace';
import { readTrace } from './trace-io';
import { WORKLOADS } from './workloads';

/** The matrix replays 84 cells: a smaller default than a single replay's keeps it to minutes. */
const MATRIX_DATASETS = 1_000;
/** The re-planned bound's default level grid: within ±2.5% of the learnt level (BENCHMARKS.md compares it with 1). */
const REPLAN_GRID = 1.05;

const USAGE = `usage: npm run simulate -- --workload <name|catalog.json> [options]

  --workload NAME|FILE  a named workload (below), or a trace's catalog file <name>.catalog.json
                        (its events are read from <name>.jsonl beside it); repeat for several
  --policy NAME         a policy to compare (repeatable; default: all): product, ${Object.keys(BASELINE_POLICIES).join(', ')}, optimum,
                        informed (named workloads only: the best expected cost without seeing the future),
                        replanned (named workloads only, asked for by name: the informed planner re-planned each
                        day on what a perfect learner knows so far; see replanned.ts)
  --replan-grid R       the re-planned bound's level grid ratio (default ${REPLAN_GRID}; 1 re-plans on every change)
  --datasets N --days D --seed S   size of a generated workload (default 10000, 180, 1)
  --prices FILE         a price catalog (JSON, partial allowed) instead of the defaults
  --set NAME=VALUE      a policy setting for the product's policy (repeatable): ${Object.keys(DEFAULT_POLICY).join(', ')}
  --pretrain            the product starts with a model learnt on the same named workload at seed S+${PRETRAIN_SEED_OFFSET}
                        (its learning gate open from the first day; the statistics still start empty)
  --json                print JSON (one object per workload, or per matrix cell) instead of a table
  --matrix              the robustness matrix: every named workload (or those given with --workload) under each
                        price variant (${PRICE_VARIANTS.map((v) => v.name).join(', ')}), as the product's cost
                        ÷ the best of always-hot, s3-it and fabricpool-auto; ${MATRIX_DATASETS.toLocaleString('en-US')} datasets unless --datasets says
`;

interface Args {
  workloads: string[];
  policies: string[];
  datasets?: number;
  days?: number;
  seed?: number;
  prices?: string;
  settings: Partial<Record<keyof PolicySettings, number>>;
  json: boolean;
  matrix: boolean;
  pretrain: boolean;
  replanGrid?: number;
}

export function parseArgs(argv: string[]): Args {
  const a: Args = { workloads: [], policies: [], settings: {}, json: false, matrix: false, pretrain: false };
  for (let k = 0; k < argv.length; k++) {
    const flag = argv[k]!;
    const value = (): string => {
      const v = argv[++k];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const int = (): number => {
      const v = value();
      if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`${flag}: expected a positive whole number, got "${v}"`);
      return Number(v);
    };
    if (flag === '--workload') a.workloads.push(value());
    else if (flag === '--policy') a.policies.push(value());
    else if (flag === '--datasets') a.datasets = int();
    else if (flag === '--days') a.days = int();
    else if (flag === '--seed') a.seed = int();
    else if (flag === '--prices') a.prices = value();
    else if (flag === '--json') a.json = true;
    else if (flag === '--matrix') a.matrix = true;
    else if (flag === '--pretrain') a.pretrain = true;
    else if (flag === '--replan-grid') {
      const v = value();
      if (!/^\d+(\.\d+)?$/.test(v) || Number(v) < 1) throw new Error(`${flag}: expected a ratio ≥ 1, got "${v}"`);
      a.replanGrid = Number(v);
    } else if (flag === '--set') {
      const v = value();
      const m = /^([A-Za-z]+)=(-?[\d.]+(?:e-?\d+)?)$/.exec(v);
      if (!m || !(m[1]! in DEFAULT_POLICY))
        throw new Error(
          `--set: expected NAME=NUMBER with NAME one of ${Object.keys(DEFAULT_POLICY).join(', ')}, got "${v}"`,
        );
      a.settings[m[1] as keyof PolicySettings] = Number(m[2]);
    } else if (flag === '--help' || flag === '-h') throw new HelpRequested();
    else throw new Error(`unknown option ${flag}`);
  }
  if (a.workloads.length === 0 && !a.matrix) throw new Error('--workload is required');
  if (a.pretrain && a.matrix) throw new Error('--pretrain: not with --matrix');
  const unnamed = a.workloads.find((w) => !(w in WORKLOADS));
  if (a.pretrain && unnamed !== undefined)
    throw new Error(`--pretrain: "${unnamed}" is not a named workload (a model is learnt on another seed of one)`);
  const known = ['product', ...Object.keys(BASELINE_POLICIES), 'optimum', 'informed', 'replanned'];
  for (const p of a.policies)
    if (!known.includes(p)) throw new Error(`--policy: unknown policy "${p}" (known: ${known.join(', ')})`);
  return a;
}

class HelpRequested extends Error {}

function loadTrace(name: string, a: Args): Trace {
  const spec = WORKLOADS[name];
  if (spec) return spec.generate({ datasets: a.datasets, days: a.days, seed: a.seed });
  if (fs.existsSync(name)) {
    const events = name.replace(/\.catalog\.json$/, '.jsonl');
    if (events === name)
      throw new Error(
        `--workload ${name}: a trace file must be named <name>.catalog.json, with <name>.jsonl beside it`,
      );
    return readTrace(name, events);
  }
  throw new Error(
    `--workload: "${name}" is neither a named workload (${Object.keys(WORKLOADS).join(', ')}) nor a file`,
  );
}

export function runSimulation(
  trace: Trace,
  a: Pick<Args, 'policies' | 'prices'> & Partial<Pick<Args, 'settings' | 'replanGrid'>>,
  /** A trace to learn the model on first (see pretrain.ts). */
  pretrainOn?: Trace,
): SimResult {
  const catalog = a.prices ? parseCatalog(JSON.parse(fs.readFileSync(a.prices, 'utf8'))) : DEFAULT_CATALOG;
  const cost = new CostModel(catalog);
  const settings: PolicySettings = { ...DEFAULT_POLICY, ...a.settings };
  const predictor = pretrainOn ? pretrainedPredictor(pretrainOn, cost, settings) : new Predictor();
  const want = (p: string): boolean => a.policies.length === 0 || a.policies.includes(p);
  if (a.policies.includes('informed') && !trace.expected) {
    throw new Error(
      `--policy informed: workload "${trace.catalog.workload}" is a recorded trace with no expected use; the informed bound needs a named workload`,
    );
  }
  if (a.policies.includes('replanned') && !trace.expected) {
    throw new Error(
      `--policy replanned: workload "${trace.catalog.workload}" is a recorded trace with no expected use; the re-planned bound needs a named workload`,
    );
  }
  const policies = [
    ...(want('product') ? [productPolicy(new TieringPolicy(cost, predictor, settings))] : []),
    ...Object.values(BASELINE_POLICIES).filter((p) => want(p.name)),
  ];
  return simulate(trace, {
    cost,
    settings,
    predictor,
    policies,
    optimum: want('optimum'),
    informed: want('informed'),
    // Asked for by name only: it costs several times the informed bound's work.
    ...(a.policies.includes('replanned') ? { replanned: a.replanGrid ?? REPLAN_GRID } : {}),
  });
}

function table(r: SimResult): string {
  const cols = [
    'policy',
    'total',
    'storage',
    'requests',
    'retrieval',
    'egress',
    'moves_cost',
    'early_deletion',
    'moves',
    'cold_read_share',
    'p95_first_byte_ms',
  ] as const;
  const rows = r.policies.map((p) =>
    cols.map((c) =>
      c === 'cold_read_share'
        ? `${(p[c] * 100).toFixed(1)}%`
        : typeof p[c] === 'number'
          ? p[c].toLocaleString('en-US', { maximumFractionDigits: 2 })
          : String(p[c]),
    ),
  );
  const widths = cols.map((c, k) => Math.max(c.length, ...rows.map((row) => row[k]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((v, k) => (k === 0 ? v.padEnd(widths[k]!) : v.padStart(widths[k]!))).join('  ');
  const q = r.forecast_quality;
  const t = r.forecast_quality_trained;
  return [
    `workload ${r.workload}: ${r.datasets.toLocaleString('en-US')} datasets, ${r.days} days, ${r.events.toLocaleString('en-US')} events, replayed in ${r.seconds.toFixed(1)} s (costs in US$)`,
    line(cols),
    ...rows.map(line),
    `forecast error over ${q.observations} matured observations (mean |log(1+predicted) - log(1+actual)|): model ${q.mae_log.model}, seed regression ${q.mae_log.seed_regression}, seed EWMA ${q.mae_log.seed_ewma}`,
    `  of which ${t.observations} made once the model had learnt (the forecasts demotions rely on): model ${t.mae_log.model}, seed regression ${t.mae_log.seed_regression}, seed EWMA ${t.mae_log.seed_ewma}`,
    '',
  ].join('\n');
}

/** Every cell of the matrix, each printed as it is done with --json, the table at the end otherwise. */
function runMatrix(a: Args): void {
  const base = a.prices ? parseCatalog(JSON.parse(fs.readFileSync(a.prices, 'utf8'))) : DEFAULT_CATALOG;
  const names = a.workloads.length ? a.workloads : Object.keys(WORKLOADS);
  const cells: MatrixCell[] = [];
  for (const w of names) {
    const trace = loadTrace(w, { ...a, datasets: a.datasets ?? MATRIX_DATASETS });
    for (const v of PRICE_VARIANTS) {
      const cell = matrixCell(trace, base, v, a.settings);
      cells.push(cell);
      if (a.json) process.stdout.write(JSON.stringify(cell) + '\n');
      else process.stderr.write(`${w} × ${v.name}: ${cell.ratio.toFixed(3)}\n`);
    }
  }
  if (!a.json) process.stdout.write(matrixTable(cells));
}

export async function main(): Promise<void> {
  let a: Args;
  try {
    a = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(
        USAGE +
          '\nworkloads:\n' +
          Object.values(WORKLOADS)
            .map((w) => `  ${w.name.padEnd(14)} ${w.description}`)
            .join('\n') +
          '\n',
      );
      return;
    }
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (a.matrix) return runMatrix(a);
  for (const w of a.workloads) {
    const pre = a.pretrain ? loadTrace(w, { ...a, seed: (a.seed ?? 1) + PRETRAIN_SEED_OFFSET }) : undefined;
    const r = runSimulation(loadTrace(w, a), a, pre);
    process.stdout.write(a.json ? JSON.stringify(r) + '\n' : table(r));
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`simulate failed: ${(err as Error).message}\n`);
    process.exitCode = 1;
  });
}
