/**
 * The optimum's dynamic programming run backwards over a plan of use that changes by day: for each
 * day from a given one to the end and each state (placement, days there), the cheapest decision at
 * that day's start. Same states, prices and timing as optimum.ts (a move at each day's start after
 * the creation day, early deletion exact), so the cost it finds from the creation day equals the
 * forward pass's. The re-planned bound (replanned.ts) solves it again when its forecast changes and
 * keeps only the day's step.
 */
import type { CostModel } from '../cost';
import type { Layout } from './optimum';

const GB = 1024 ** 3;
/** Module constants rather than globals in the inner loops (see optimum.ts: jest's vm context). */
const INF = Number.POSITIVE_INFINITY;
const min = Math.min;

/** One dataset's prices, so the loops are array reads only. */
export class DatasetPrices {
  readonly storageDay: Float64Array;
  readonly earlyFee: Float64Array;
  readonly moveCost: Float64Array;
  /** Per access at each placement: a read request, a write request, a GB read (retrieval and egress). */
  readonly perRead: Float64Array;
  readonly perWrite: Float64Array;
  readonly perGb: Float64Array;

  constructor(
    readonly cost: CostModel,
    readonly L: Layout,
  ) {
    this.storageDay = new Float64Array(L.P);
    this.earlyFee = new Float64Array(L.S);
    this.moveCost = new Float64Array(L.P * L.P);
    this.perRead = Float64Array.from(cost.readReq);
    this.perWrite = Float64Array.from(cost.writeReq);
    this.perGb = cost.retrieval.map((r, p) => r + cost.readEgress[p]!);
  }

  price(sz: number): void {
    const { cost, L } = this;
    const { P, S } = L;
    for (let p = 0; p < P; p++) {
      this.storageDay[p] = cost.storage(p, sz, 1);
      for (let q = 0; q < P; q++) this.moveCost[p * P + q] = p === q ? 0 : cost.moveTotal(p, q, sz, INF);
    }
    for (let s = 0; s < S; s++) this.earlyFee[s] = cost.earlyDeletion(L.stateP[s]!, sz, L.stateA[s]!);
  }
}

/** A plan of one dataset's use per day of the trace (index d): reads, bytes read and writes, each times scale. */
export interface DayPlan {
  reads: ArrayLike<number>;
  bytes: ArrayLike<number>;
  writes: ArrayLike<number>;
  scale: number;
}

/** The dataset's days: D in the trace, created on day c, existing for firstFrac of that day. */
export interface PlanDays {
  days: number;
  c: number;
  firstFrac: number;
}

export interface PlanTable {
  from: number;
  /** act[(d - from) * S + s]: the placement to move to at day d's start from state s, or -1 to stay. */
  act: Int8Array;
  /** The planned cost from each state at `from`'s start, its move included. */
  value: Float64Array;
}

/** Backwards from the last day to `from`: the cheapest decision per day and state under the plan. */
export function planBackward(pr: DatasetPrices, plan: DayPlan, x: PlanDays, from: number): PlanTable {
  const { L } = pr;
  const { P, S, cap, off, stateP, stateA, allowed } = L;
  const { days: D, c } = x;
  const act = new Int8Array((D - from) * S).fill(-1);
  let U = new Float64Array(S); // the cost from each state at the next day's start: nothing after the trace
  let A = new Float64Array(S);
  const dayCost = new Float64Array(P);
  const bestMove = new Float64Array(P);
  const bestTo = new Int8Array(P);
  const k = plan.scale;
  for (let d = D - 1; d >= from; d--) {
    const r = plan.reads[d]! * k;
    const b = (plan.bytes[d]! * k) / GB;
    const w = plan.writes[d]! * k;
    const frac = d === c ? x.firstFrac : 1;
    for (let p = 0; p < P; p++)
      dayCost[p] = pr.storageDay[p]! * frac + r * pr.perRead[p]! + w * pr.perWrite[p]! + b * pr.perGb[p]!;
    // A[s]: in state s for day d (after any move): the day's cost, then the rest from the aged state.
    for (let s = 0; s < S; s++) {
      const p = stateP[s]!;
      A[s] = dayCost[p]! + U[off[p]! + min(stateA[s]! + 1, cap[p]!)]!;
    }
    // The cheapest move out of each placement, into a fresh stay (age 0) somewhere allowed.
    for (let p = 0; p < P; p++) {
      bestMove[p] = INF;
      bestTo[p] = -1;
      if (d === c) continue;
      for (let q = 0; q < P; q++) {
        if (q === p || !allowed[q]) continue;
        const v = pr.moveCost[p * P + q]! + A[off[q]!]!;
        if (v < bestMove[p]!) {
          bestMove[p] = v;
          bestTo[p] = q;
        }
      }
    }
    const row = (d - from) * S;
    for (let s = 0; s < S; s++) {
      const p = stateP[s]!;
      const moved = pr.earlyFee[s]! + bestMove[p]!;
      if (moved < A[s]!) {
        A[s] = moved;
        act[row + s] = bestTo[p]!;
      }
    }
    const t = U;
    U = A;
    A = t;
  }
  return { from, act, value: U };
}
