/**
 * The robustness matrix (`npm run simulate -- --matrix`): every named workload under price
 * variants, each cell the product's cost ÷ the best simple baseline's (always-HOT, the S3-IT-like
 * rule, FabricPool-like) on the same trace. Above 1.00, the product lost money against a rule a
 * customer could have used instead.
 */
import type { PriceCatalog } from '../catalog';
import { CostModel } from '../cost';
import { DEFAULT_POLICY, type PolicySettings } from '../decision';
import { TieringPolicy } from '../policy';
import { Predictor } from '../predictor';
import { BASELINE_POLICIES, productPolicy } from './policies';
import { simulate } from './runner';
import type { Trace } from './trace';

/** The baselines a cell compares with: rules a customer could run instead. */
export const SIMPLE_BASELINES = ['always-hot', 's3-it', 'fabricpool-auto'] as const;

export interface PriceVariant {
  name: string;
  description: string;
  apply(c: PriceCatalog): PriceCatalog;
}

function eachPlacement(c: PriceCatalog, f: (key: string, p: PriceCatalog['placements'][string]) => void): PriceCatalog {
  const out = structuredClone(c);
  for (const [key, p] of Object.entries(out.placements)) f(key, p);
  return out;
}

export const PRICE_VARIANTS: readonly PriceVariant[] = [
  { name: 'list', description: 'the price catalog as given', apply: (c) => structuredClone(c) },
  {
    name: 'egress-0',
    description: 'no egress: moves between locations and reads from them carry nothing',
    apply: (c) => {
      const out = structuredClone(c);
      for (const to of Object.values(out.egress_per_gb)) for (const k of Object.keys(to)) to[k as keyof typeof to] = 0;
      for (const k of Object.keys(out.read_egress_per_gb))
        out.read_egress_per_gb[k as keyof typeof out.read_egress_per_gb] = 0;
      return out;
    },
  },
  {
    name: 'cold-retrieval-x3',
    description: 'COLD tiers charge three times their retrieval fee',
    apply: (c) =>
      eachPlacement(c, (key, p) => {
        if (key.endsWith('/COLD')) p.retrieval_per_gb *= 3;
      }),
  },
  {
    name: 'storage-x0.5',
    description: 'every placement stores for half the price',
    apply: (c) => eachPlacement(c, (_k, p) => (p.storage_gb_month *= 0.5)),
  },
  {
    name: 'storage-x2',
    description: 'every placement stores for twice the price',
    apply: (c) => eachPlacement(c, (_k, p) => (p.storage_gb_month *= 2)),
  },
  {
    name: 'min-days-0',
    description: 'no minimum storage duration anywhere',
    apply: (c) => eachPlacement(c, (_k, p) => (p.min_storage_days = 0)),
  },
  {
    name: 'min-days-180',
    description: 'every placement with a minimum storage duration has one of 180 days',
    apply: (c) =>
      eachPlacement(c, (_k, p) => {
        if (p.min_storage_days > 0) p.min_storage_days = 180;
      }),
  },
];

export interface MatrixCell {
  workload: string;
  variant: string;
  product: number;
  best_baseline: string;
  best_baseline_total: number;
  /** product ÷ best baseline. */
  ratio: number;
  /** Events replayed. */
  events: number;
}

/** One cell: the product and the simple baselines replayed over the trace at the variant's prices. */
export function matrixCell(
  trace: Trace,
  base: PriceCatalog,
  variant: PriceVariant,
  settings: Partial<PolicySettings> = {},
): MatrixCell {
  const cost = new CostModel(variant.apply(base));
  const s: PolicySettings = { ...DEFAULT_POLICY, ...settings };
  const predictor = new Predictor();
  const policies = [
    productPolicy(new TieringPolicy(cost, predictor, s)),
    ...SIMPLE_BASELINES.map((n) => BASELINE_POLICIES[n]!),
  ];
  const r = simulate(trace, { cost, settings: s, predictor, policies, optimum: false });
  const product = r.policies[0]!;
  const best = r.policies.slice(1).reduce((a, b) => (b.total < a.total ? b : a));
  return {
    workload: trace.catalog.workload,
    variant: variant.name,
    product: product.total,
    best_baseline: best.policy,
    best_baseline_total: best.total,
    ratio: best.total > 0 ? product.total / best.total : 1,
    events: r.events,
  };
}

/** The matrix as a table: a row per workload, a column per variant, and each row's and column's worst. */
export function matrixTable(cells: readonly MatrixCell[]): string {
  const workloads = [...new Set(cells.map((c) => c.workload))];
  const variants = PRICE_VARIANTS.map((v) => v.name).filter((v) => cells.some((c) => c.variant === v));
  const at = (w: string, v: string): MatrixCell | undefined => cells.find((c) => c.workload === w && c.variant === v);
  const fmt = (x: number | undefined): string => (x === undefined ? '' : x.toFixed(3));
  const head = ['workload', ...variants, 'worst'];
  const rows = workloads.map((w) => {
    const rs = variants.map((v) => at(w, v)?.ratio);
    return [w, ...rs.map(fmt), fmt(Math.max(...rs.filter((x): x is number => x !== undefined)))];
  });
  const colWorst = variants.map((v) => fmt(Math.max(...cells.filter((c) => c.variant === v).map((c) => c.ratio))));
  rows.push(['worst', ...colWorst, fmt(Math.max(...cells.map((c) => c.ratio)))]);
  const widths = head.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((v, k) => (k === 0 ? v.padEnd(widths[k]!) : v.padStart(widths[k]!))).join('  ');
  const above = cells.filter((c) => c.ratio > 1.0005).length;
  return [
    `product ÷ best simple baseline (${SIMPLE_BASELINES.join(', ')}); above 1.000 the product lost money (${above} of ${cells.length} cells)`,
    line(head),
    ...rows.map(line),
    '',
  ].join('\n');
}
