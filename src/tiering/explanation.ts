/** A decision's explanation as stored: every input of the decision, encoded compactly, and decoded back. */
import type { Decision, DecisionPlan } from './decision';
import { packWaysOn, wayOnOf } from './plan-ahead';
import { PLACEMENTS } from './placements';

/** The stored explanation: every input of the decision, so the API can show each candidate. */
export interface StoredExplanation {
  /** 1: the inputs of the horizon only (before plans were kept); 2: with the plan's inputs and each way on. */
  v: 1 | 2;
  size_bytes: number;
  days_here: number;
  horizon_days: number;
  usage: Decision['usage'];
  forecast: Decision['forecast'];
  features: Decision['features'];
  excluded_mask: number;
  max_latency_ms: number | null;
  policy_mode: Decision['policyMode'];
  promotion: boolean;
  /** Format 2 only: what each placement's plan was priced with, and where its way on went. */
  plan?: DecisionPlan;
}

/**
 * The stored explanation is every input of the decision as a compact JSON array in a fixed
 * order (a million decisions are written on a first run: a keyed object is three times larger).
 * Format 1 is 24 entries; format 2 appends the plan's (plan-ahead.ts) days, risk margin,
 * promotion share, use after the horizon (reads, bytes read, writes) and, as one string, each
 * placement's next placement (one digit per placement in PLACEMENTS order; its own: it stays).
 * Both are read back: rows stored before format 2 keep explaining as they did.
 */
const MODES: Decision['policyMode'][] = ['auto', 'pinned', 'never-tier'];
const V1_LENGTH = 24;
const V2_LENGTH = 31;

export function encodeExplanation(d: Decision): string {
  const f = d.forecast;
  const v = d.features;
  const u = d.usage;
  const n = String; // V8's shortest round-trip form; toPrecision costs ten times more
  const inputs = `${n(d.sizeBytes)},${n(d.daysHere)},${d.horizonDays},${n(u.reads)},${n(u.readBytes)},${n(u.writes)},${n(f.accesses)},${n(f.reads)},${n(f.writes)},${n(f.scans)},${n(f.read_bytes)},${n(v.rate_per_day_1h)},${n(v.rate_per_day_1d)},${n(v.rate_per_day_1w)},${n(v.rate_per_day_30d)},${n(v.rate_per_day_lifetime)},${n(v.days_idle)},${n(v.age_days)},${n(v.scans_per_day)},${d.excludedMask},${d.maxLatencyMs === null ? 'null' : n(d.maxLatencyMs)},${MODES.indexOf(d.policyMode)},${d.promotion ? 1 : 0}`;
  const p = d.plan;
  if (!p) return `[1,${inputs}]`;
  const l = p.later;
  let next = '';
  for (let i = 0; i < PLACEMENTS.length; i++) next += String(wayOnOf(p, i));
  return `[2,${inputs},${n(p.days)},${n(p.risk)},${n(p.promoShare)},${n(l.reads)},${n(l.readBytes)},${n(l.writes)},"${next}"]`;
}

export function decodeExplanation(text: string): StoredExplanation {
  const a = JSON.parse(text) as (number | string | null)[];
  const v = a[0];
  if (!((v === 1 && a.length === V1_LENGTH) || (v === 2 && a.length === V2_LENGTH)))
    throw new Error('unknown explanation format');
  const x = (i: number): number => a[i] as number;
  const e: StoredExplanation = {
    v,
    size_bytes: x(1),
    days_here: x(2),
    horizon_days: x(3),
    usage: { reads: x(4), readBytes: x(5), writes: x(6), writeBytes: 0 },
    forecast: { accesses: x(7), reads: x(8), writes: x(9), scans: x(10), read_bytes: x(11) },
    features: {
      rate_per_day_1h: x(12),
      rate_per_day_1d: x(13),
      rate_per_day_1w: x(14),
      rate_per_day_30d: x(15),
      rate_per_day_lifetime: x(16),
      days_idle: x(17),
      age_days: x(18),
      scans_per_day: x(19),
    },
    excluded_mask: x(20),
    max_latency_ms: (a[21] as number | null) ?? null,
    policy_mode: MODES[x(22)]!,
    promotion: x(23) === 1,
  };
  if (v === 2) {
    const next = String(a[30]);
    if (!/^[0-8]{9}$/.test(next)) throw new Error('unknown explanation format');
    e.plan = {
      days: x(24),
      risk: x(25),
      promoShare: x(26),
      later: { reads: x(27), readBytes: x(28), writes: x(29), writeBytes: 0 },
      next: packWaysOn([...next].map(Number)),
    };
  }
  return e;
}
