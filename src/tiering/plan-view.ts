/**
 * Each candidate placement's plan as the policy priced it (plan-ahead.ts), from a decision's
 * stored inputs: the horizon there, the margin on its access, the move there and the way on
 * after the horizon, in figures that add up to the total the policy compared, and in words
 * ("PUBLIC/WARM now, then PUBLIC/COLD from day 31 ($1.23 over 90 days)").
 */
import type { CostModel } from './cost';
import type { Decision } from './decision';
import { planParts, waysOn, type PlanParts } from './plan-ahead';
import { PLACEMENTS, placementIndex, placementKey } from './placements';

export interface PlanView {
  /** Storage and use over the horizon at the placement. */
  horizon: number;
  /** The margin on dearer access (the risk of more use), or on cheaper access (use recent weeks do not bear out). */
  margin: number;
  /** The move there now (0 for the current placement). */
  move: number;
  /** After the horizon: where the plan goes next (null: it stays), from which day, and what that costs to the plan's end. */
  way_on: { to: string | null; from_day: number | null; cost: number };
  /** horizon + margin + move + way_on.cost: what the policy compared. */
  total: number;
  /** The days the plan covers. */
  days: number;
  text: string;
}

/**
 * One entry per placement (PLACEMENTS order): its plan, or null where it was ruled out; null
 * altogether for a decision stored before plans were kept (format 1 explanations).
 */
export function planViews(d: Decision, cost: CostModel): (PlanView | null)[] | null {
  const p = d.plan;
  if (!p) return null;
  const n = PLACEMENTS.length;
  const H = d.horizonDays;
  const size = d.sizeBytes;
  const cur = placementIndex(d.from);
  const allowed = ~d.excludedMask & ((1 << n) - 1);
  const wayOn = new Float64Array(n);
  const next = Uint8Array.from(PLACEMENTS, (_, i) => i);
  if (p.days > H) {
    const c = { cost, size, later: p.later, laterDays: p.days - H, horizonDays: H, cur, daysHere: d.daysHere };
    waysOn({ ...c, allowed, risk: p.risk }, new Float64Array(n), wayOn, next);
  }
  const weigh = { cost, size, H, cur, daysHere: d.daysHere, risk: p.risk, promoShare: p.promoShare };
  const accessHere = cost.hold(cur, size, d.usage, H) - cost.storage(cur, size, H);
  const parts: PlanParts = { margin: 0, move: 0 };
  return PLACEMENTS.map((placement, i) => {
    if (!(allowed & (1 << i))) return null;
    const hold = cost.hold(i, size, d.usage, H);
    planParts(weigh, i, hold, accessHere, parts);
    const total = hold + parts.margin + parts.move + wayOn[i]!;
    const to = next[i] === i ? null : placementKey(PLACEMENTS[next[i]!]!);
    const days = Math.max(p.days, H);
    const then = to === null ? 'stays' : `then ${to} from day ${H + 1}`;
    return {
      horizon: money(hold),
      margin: money(parts.margin),
      move: money(parts.move),
      way_on: { to, from_day: to === null ? null : H + 1, cost: money(wayOn[i]!) },
      total: money(total),
      days,
      text: `${placementKey(placement)} now, ${then} ($${money(total)} over ${days} days)`,
    };
  });
}

function money(v: number): number {
  return Math.round(v * 10_000) / 10_000;
}
