/** A stored decision as the API shows it: every candidate priced, the rule in words. */
import type { CostModel } from './cost';
import type { Decision } from './decision';
import type { DecisionRow } from './decision-repository';
import { decodeExplanation } from './explanation';
import { placementIndex, placementKey } from './placements';
import type { TieringPolicy } from './policy';
import { planViews } from './plan-view';

/** `policy` prices the candidates: one made with the cost model of the catalog version the decision was made with. */
export function explainView(
  row: DecisionRow & { id?: number },
  cost: CostModel,
  policy: TieringPolicy,
): Record<string, unknown> {
  const d = decisionOf(row);
  const perMonth = 30 / d.horizonDays;
  const plans = planViews(d, cost);
  const candidates = policy.candidates(d).map((c, i) => ({
    placement: placementKey(c.placement),
    location: c.placement.location,
    tier: c.placement.tier,
    excluded: c.excluded,
    first_byte_ms: cost.firstByteMs[placementIndex(c.placement)],
    storage_class: cost.classAt(placementIndex(c.placement)) ?? null,
    per_month: mapValues(c.hold, (v) => money(v * perMonth)),
    move: mapValues(c.move, money),
    horizon_total: money(c.total),
    current: c.placement.location === d.from.location && c.placement.tier === d.from.tier,
    chosen: c.placement.location === d.to.location && c.placement.tier === d.to.tier,
    // The placement weighed as a plan (plan-ahead.ts); null where ruled out, or stored before plans were kept.
    plan: plans?.[i] ?? null,
  }));
  const chosenPlan = plans?.[placementIndex(d.to)] ?? null;
  const herePlan = plans?.[placementIndex(d.from)] ?? null;
  return {
    dataset_id: d.datasetId,
    ...(row.id !== undefined ? { decision_id: row.id } : {}),
    run_id: row.run_id,
    made_at: new Date(row.made_at).toISOString(),
    action: d.action,
    rule: d.rule,
    summary: summarise(d),
    from: { location: d.from.location, tier: d.from.tier },
    to: { location: d.to.location, tier: d.to.tier },
    horizon_days: d.horizonDays,
    forecast: mapValues(d.forecast, (v) => round(v, 3)),
    features: mapValues(d.features, (v) => round(v, 4)),
    size_bytes: d.sizeBytes,
    cost_now_per_month: money(d.costNowPerMonth),
    cost_target_per_month: money(d.costTargetPerMonth),
    saving_per_month: money(d.savingPerMonth),
    move_cost: money(d.moveCost),
    break_even_days: d.breakEvenDays === null ? null : round(d.breakEvenDays, 1),
    catalog_version: row.catalog_version,
    // The chosen placement's plan in words, and how far the plans look (null: stored before plans were kept).
    plan: chosenPlan?.text ?? null,
    plan_here: herePlan?.text ?? null,
    plan_days: chosenPlan?.days ?? null,
    candidates,
  };
}

/** The decision a stored row stands for: its costs from the row, its inputs from the explanation. */
function decisionOf(row: DecisionRow): Decision {
  const e = decodeExplanation(row.explanation);
  return {
    datasetId: row.dataset_id,
    action: row.action,
    from: { location: row.from_location, tier: row.from_tier },
    to: { location: row.to_location, tier: row.to_tier },
    rule: row.rule as Decision['rule'],
    horizonDays: e.horizon_days,
    forecast: e.forecast,
    features: e.features,
    costNowPerMonth: row.cost_now_month,
    costTargetPerMonth: row.cost_target_month,
    savingPerMonth: row.saving_month,
    moveCost: row.move_cost,
    breakEvenDays: row.break_even_days,
    promotion: e.promotion,
    usage: e.usage,
    sizeBytes: e.size_bytes,
    daysHere: e.days_here,
    excludedMask: e.excluded_mask,
    maxLatencyMs: e.max_latency_ms,
    policyMode: e.policy_mode,
    ...(e.plan ? { plan: e.plan } : {}),
  };
}

/**
 * A logged move (decision_log keeps its inputs, not its costs) as a full decision row: the costs
 * priced again from its stored inputs with the catalog version it was made with, as the policy
 * priced them then (hold totals over the horizon, the move's own cost).
 */
export function repriceLogged(
  x: Omit<
    DecisionRow,
    'action' | 'forecast_accesses' | 'cost_now_month' | 'cost_target_month' | 'move_cost' | 'break_even_days'
  >,
  policy: TieringPolicy,
): DecisionRow {
  const row: DecisionRow = {
    ...x,
    action: 'move',
    forecast_accesses: decodeExplanation(x.explanation).forecast.accesses,
    cost_now_month: 0,
    cost_target_month: 0,
    move_cost: 0,
    break_even_days: null,
  };
  const d = decisionOf(row);
  const candidates = policy.candidates(d);
  const now = candidates[placementIndex(d.from)]!;
  const target = candidates[placementIndex(d.to)]!;
  const perMonth = 30 / d.horizonDays;
  const saving = now.hold.total - target.hold.total;
  return {
    ...row,
    cost_now_month: now.hold.total * perMonth,
    cost_target_month: target.hold.total * perMonth,
    move_cost: target.move.total,
    break_even_days: saving > 0 ? target.move.total / (saving / d.horizonDays) : null,
  };
}

/** One sentence a person reads: what is expected, what is cheapest, and what held a move back. */
export function summarise(d: Decision): string {
  const f = d.forecast;
  const head = `Expects ${fmt(f.accesses)} accesses${f.scans >= 0.5 ? ` and ${fmt(f.scans)} scans` : ''} in the next ${d.horizonDays} days (idle ${fmt(d.features.days_idle)} days, ${fmt(d.features.rate_per_day_1w)}/day over the last week).`;
  const here = `${placementKey(d.from)} costs $${money(d.costNowPerMonth)}/month`;
  if (d.action === 'stay') {
    if (d.rule === 'pin') return `${head} Pinned to ${placementKey(d.from)}.`;
    if (d.rule === 'never-tier') return `${head} Never tiered: stays at ${placementKey(d.from)}.`;
    // Placements are weighed as plans (the horizon, the risk of dearer access, the way on after it:
    // plan-ahead.ts), so a placement cheaper over the horizon alone may still lose: say what was weighed.
    return `${head} ${here}; no allowed placement beats it once the risk of dearer access and the way on after the horizon are priced: stays.`;
  }
  const move = `${placementKey(d.to)} would cost $${money(d.costTargetPerMonth)}/month (saves $${money(d.savingPerMonth)}/month; the move costs $${money(d.moveCost)}${d.breakEvenDays !== null ? `, paid back in ${fmt(d.breakEvenDays)} days` : ''}).`;
  return `${head} ${here}; ${move} ${ruleText(d.action, d.rule)}`.trim();
}

const WHY: Record<string, string> = {
  pin: 'Pinned there: moving.',
  manual: 'Queued by hand to a placement other than the recommendation: priced here by the same cost model.',
  'in-flight': 'Held: a move of this dataset is already under way.',
  cooldown: 'Held: it moved recently (cooldown).',
  hysteresis: 'Held: the saving does not beat the cost of the move by the required margin (hysteresis).',
  'min-saving': 'Held: the saving is below the minimum worth a move.',
  budget: "Held: this run's move budget is spent; it goes first next run.",
  learning: 'Held: the model has not yet learnt from enough matured forecasts to bet on cheaper storage.',
  'short-history':
    'Held: it came with a past the product has not seen, and its statistics cover less than a horizon: a reader that comes round once a month may not have come yet.',
  young:
    'Held: only days old, its rates cover windows it has not lived yet, so its forecast is not bet on: a move to slower, dearer-to-read storage waits a few days.',
  uncertain:
    "Held: its own accesses of the last weeks are few, and the chance that its use is really above the move's break-even, times a read and the move back from there, outweighs the saving: it waits for more evidence.",
  periodic:
    'Held: its readers come back at the same point of every month or week, and that window is days away: its reads there would cost more at the cheaper placement than the storage saved until it has passed, so the move waits until after it.',
  unread:
    'Held: written but not yet read, and its readers may be yet to come: it waits a whole horizon idle, and then while the chance that data of its age is first read within the horizon (learnt from the fleet), times a read and the move back from there, outweighs the saving.',
};

/** What holds a decision, in words (the recommendations page shows it per row). */
export function ruleText(action: Decision['action'], rule: string | null): string {
  if (action === 'stay')
    return rule === 'pin' ? 'Pinned here.' : rule === 'never-tier' ? 'Never tiered.' : 'Cheapest allowed: stays.';
  return action === 'move' && rule === null ? 'Moving.' : (WHY[rule ?? ''] ?? '');
}

function fmt(v: number): string {
  if (v >= 100) return Math.round(v).toLocaleString('en-US');
  if (v >= 1) return v.toFixed(1);
  return v.toFixed(2);
}

function money(v: number): number {
  return Math.round(v * 10_000) / 10_000;
}

export function round(v: number, d: number): number {
  const f = 10 ** d;
  return Math.round(v * f) / f;
}

function mapValues<T extends object>(o: T, f: (v: number) => number): { [K in keyof T]: number } {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v as number)])) as { [K in keyof T]: number };
}
