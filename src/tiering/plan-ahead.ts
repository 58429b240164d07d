/**
 * What a placement leads to after the horizon. The policy prices each placement over its
 * horizon, but a move commits to more than that: a minimum duration, and a place to leave from.
 * Data that keeps cooling went HOT → WARM as soon as WARM beat HOT over the next month, and
 * stayed there: from WARM the way on to COLD costs WARM's retrieval of the whole size (a month
 * and more of the storage WARM saves over COLD), which no month's saving paid back with the
 * hysteresis, while from HOT the same move costs a copy's requests. So the placements are
 * weighed as plans: the horizon at the placement, then the cheapest way on from there (staying
 * or moving, early deletion included) until the longest minimum duration a move could commit to.
 * Where every placement's way on is the same (steady use that stays where it is), the plans
 * differ by the horizon alone and the choice is the horizon's (issue 13, cooling: 623 of 826
 * demotions went to WARM, against the re-planned bound's HOT → COLD in weeks 2-4).
 */
import { laterUsage, type AgeTrend } from './cooling';
import type { CostModel, Usage } from './cost';
import type { DecisionPlan, Forecast } from './decision';

/**
 * The days a plan looks ahead: the longest minimum duration among the placements a move may go
 * to (a move there commits that long), and never less than the horizon.
 */
export function planDays(cost: CostModel, allowed: number, horizonDays: number): number {
  let days = horizonDays;
  for (let i = 0; i < cost.minDays.length; i++) if (allowed & (1 << i)) days = Math.max(days, cost.minDays[i]!);
  return days;
}

/**
 * Fills `out[i]` with the cheapest way on from placement `i` once the horizon is over: staying
 * there or moving to another allowed placement (its move, with the early deletion still owed),
 * then holding there for `laterDays` with use `later`. Placements not in `allowed` (a bit mask)
 * get Infinity and are never a way on. `cur` has been where it is for `daysHere` days; any other
 * placement is reached now, so it has been there for the horizon when the plan moves on.
 */
export function waysOn(
  c: {
    cost: CostModel;
    size: number;
    later: Usage;
    laterDays: number;
    horizonDays: number;
    cur: number;
    daysHere: number;
    allowed: number;
    /** The demotion risk margin of the horizon (TieringPolicy.margins). */
    risk: number;
  },
  hold: Float64Array,
  out: Float64Array,
  /** If given, `next[i]` is where placement i's way on goes (i itself: it stays), for explanations. */
  next?: Uint8Array,
): void {
  const { cost, size, later, laterDays, horizonDays, cur, daysHere, allowed, risk } = c;
  const n = out.length;
  // Later use is weighed as the horizon's is (see TieringPolicy.margins): at a placement with
  // dearer access than the current one, as if it came out (1 + risk) times the forecast.
  const accessHere = cost.retrieval[cur]! + cost.readEgress[cur]!;
  for (let k = 0; k < n; k++) {
    if (!(allowed & (1 << k))) {
      hold[k] = Infinity;
      continue;
    }
    const h = cost.hold(k, size, later, laterDays);
    const dearer = cost.retrieval[k]! + cost.readEgress[k]! > accessHere;
    hold[k] = dearer ? h + (h - cost.storage(k, size, laterDays)) * risk : h;
  }
  for (let i = 0; i < n; i++) {
    if (!(allowed & (1 << i))) {
      out[i] = Infinity;
      if (next) next[i] = i;
      continue;
    }
    const daysThere = (i === cur ? daysHere : 0) + horizonDays;
    let best = hold[i]!;
    let to = i;
    for (let k = 0; k < n; k++) {
      if (k === i || !(allowed & (1 << k))) continue;
      const via = cost.moveTotal(i, k, size, daysThere) + hold[k]!;
      if (via < best) {
        best = via;
        to = k;
      }
    }
    out[i] = best;
    if (next) next[i] = to;
  }
}

/** What planAhead works in, kept by the policy so the hot path allocates nothing. */
export interface PlanScratch {
  later: Usage;
  hold: Float64Array;
  /** Per placement: its cheapest way on after the horizon (0 where no move commits beyond it). */
  wayOn: Float64Array;
  /** Per placement: where that way on goes (the placement itself: it stays), as explanations show it. */
  next: Uint8Array;
  /** The days the last plan looked ahead (planDays; the horizon where no move commits beyond it). */
  days: number;
}

export function planScratch(n: number): PlanScratch {
  return {
    later: { reads: 0, readBytes: 0, writes: 0, writeBytes: 0 },
    hold: new Float64Array(n),
    wayOn: new Float64Array(n),
    next: new Uint8Array(n),
    days: 0,
  };
}

/**
 * Fills `s.wayOn` for a decision: the plan looks as far as the longest minimum duration among the
 * allowed placements, with the use after the horizon as the fleet's data of this age goes on
 * (laterUsage) and the horizon's demotion margin `risk`.
 */
export function planAhead(
  c: {
    cost: CostModel;
    trend: AgeTrend;
    usage: Usage;
    forecast: Forecast;
    size: number;
    age: number;
    H: number;
    L: number;
    cur: number;
    daysHere: number;
    risk: number;
    allowed: number;
  },
  s: PlanScratch,
): void {
  const { cost, trend, usage, forecast, size, age, H, L, cur, daysHere, risk, allowed } = c;
  const days = planDays(cost, allowed, H);
  s.days = days;
  if (days <= H) {
    s.wayOn.fill(0);
    for (let i = 0; i < s.next.length; i++) s.next[i] = i;
    s.later.reads = s.later.readBytes = s.later.writes = s.later.writeBytes = 0;
    return;
  }
  const later = laterUsage(trend, { usage, f: forecast, size, age, H, L, days }, s.later);
  waysOn(
    { cost, size, later, laterDays: days - H, horizonDays: H, cur, daysHere, allowed, risk },
    s.hold,
    s.wayOn,
    s.next,
  );
}

/**
 * A placement's plan as decide() weighs it: its hold over the horizon `hold`, the margin on
 * dearer access (risk) or on cheaper access (what recent use bears out, promoShare) against the
 * current placement's access cost `accessHere`, the move there, and its way on `wayOn`.
 * decide() and the explanations both price through here, so the figures shown are those compared.
 */
export function planParts(
  c: { cost: CostModel; size: number; H: number; cur: number; daysHere: number; risk: number; promoShare: number },
  i: number,
  hold: number,
  accessHere: number,
  out: PlanParts,
): void {
  const { cost, size, H, cur, daysHere, risk, promoShare } = c;
  const access = hold - cost.storage(i, size, H);
  const dearer = cost.retrieval[i]! + cost.readEgress[i]! > cost.retrieval[cur]! + cost.readEgress[cur]!;
  const cheaperAccess = cost.retrieval[i]! + cost.readEgress[i]! < cost.retrieval[cur]! + cost.readEgress[cur]!;
  // At most one of the two margins applies, so their sum is either one exactly.
  out.margin = (dearer ? access * risk : 0) + (cheaperAccess ? Math.max(0, accessHere - access) * (1 - promoShare) : 0);
  out.move = cost.moveTotal(cur, i, size, daysHere);
}

/** planParts' result: the margin on the horizon's use and the move there. */
export interface PlanParts {
  margin: number;
  move: number;
}

/**
 * The last plan as a decision keeps it (copies: the scratch is reused for the next decision).
 * The ways on are one number, four bits a placement: an array of nine made every decision
 * 8-15% slower (every run and every replay decides for each dataset).
 */
export function keptPlan(s: PlanScratch, risk: number, promoShare: number): DecisionPlan {
  const l = s.later;
  return {
    days: s.days,
    risk,
    promoShare,
    later: { reads: l.reads, readBytes: l.readBytes, writes: l.writes, writeBytes: l.writeBytes },
    next: packWaysOn(s.next),
  };
}

/** Where placement `i`'s way on goes in a kept plan (`i` itself: it stays). */
export function wayOnOf(plan: DecisionPlan, i: number): number {
  return Math.floor(plan.next / 16 ** i) % 16;
}

/** The kept ways on from one index per placement (PLACEMENTS order), as keptPlan packs them. */
export function packWaysOn(next: ArrayLike<number>): number {
  let code = 0;
  for (let i = next.length - 1; i >= 0; i--) code = code * 16 + next[i]!;
  return code;
}
