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
import type { CostModel, Usage } from './cost';

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
  },
  hold: Float64Array,
  out: Float64Array,
): void {
  const { cost, size, later, laterDays, horizonDays, cur, daysHere, allowed } = c;
  const n = out.length;
  for (let k = 0; k < n; k++) hold[k] = allowed & (1 << k) ? cost.hold(k, size, later, laterDays) : Infinity;
  for (let i = 0; i < n; i++) {
    if (!(allowed & (1 << i))) {
      out[i] = Infinity;
      continue;
    }
    const daysThere = (i === cur ? daysHere : 0) + horizonDays;
    let best = hold[i]!;
    for (let k = 0; k < n; k++) {
      if (k === i || !(allowed & (1 << k))) continue;
      const via = cost.moveTotal(i, k, size, daysThere) + hold[k]!;
      if (via < best) best = via;
    }
    out[i] = best;
  }
}

/** `u` scaled by `f` into `out` (use over a longer or shorter time at the same pace). */
export function scaledUsage(u: Usage, f: number, out: Usage): Usage {
  out.reads = u.reads * f;
  out.readBytes = u.readBytes * f;
  out.writes = u.writes * f;
  out.writeBytes = u.writeBytes * f;
  return out;
}
