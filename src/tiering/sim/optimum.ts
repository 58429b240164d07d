import type { CostModel } from '../cost';
import { PLACEMENTS } from '../placements';
import { money, readFacts, type PolicyResult } from './runner';

const DAY = 86_400_000;
const GB = 1024 ** 3;
/**
 * Module constants rather than the globals `Infinity` and `Math.min` in the inner loops: under
 * jest's vm context every global read goes through an interceptor and made this 40x slower.
 */
const INF = Number.POSITIVE_INFINITY;
const min = Math.min;

export interface OptimumInput {
  cost: CostModel;
  n: number;
  days: number;
  start: number;
  size: Float64Array;
  createdAt: Float64Array;
  initial: Uint8Array;
  /** Per dataset and day (index i * days + d): reads, bytes read, writes. */
  dayReads: Float64Array;
  dayBytes: Float64Array;
  dayWrites: Float64Array;
  /** Placements slower than this are ruled out, as for the product (null: none). */
  maxLatencyMs: number | null;
  /**
   * When given, the plan is made from dayReads/dayBytes/dayWrites but its costs are charged with
   * these (the use that actually happened): how a plan made from expectations fares on the trace.
   */
  charge?: { dayReads: Float64Array; dayBytes: Float64Array; dayWrites: Float64Array };
}

/**
 * The offline optimum: for each dataset, the cheapest sequence of placements (one decision at
 * each day's start, like the policies) knowing every future access, found by dynamic
 * programming. The state is the placement and the days spent there, capped at that
 * placement's minimum storage duration (beyond it, leaving costs no early-deletion fee), so the
 * early-deletion fees are exact. A lower bound for any policy deciding daily with the same
 * placements allowed.
 */
export function optimum(inp: OptimumInput): PolicyResult {
  const { cost, n, days: D, start, size } = inp;
  const P = PLACEMENTS.length;
  const allowed = PLACEMENTS.map((_, p) => inp.maxLatencyMs === null || cost.firstByteMs[p]! <= inp.maxLatencyMs);
  // State layout: placement p has ages 0..cap[p] at offsets off[p]..off[p]+cap[p].
  const cap = PLACEMENTS.map((_, p) => Math.ceil(cost.minDays[p]!));
  const off: number[] = [];
  let S = 0;
  for (let p = 0; p < P; p++) {
    off.push(S);
    S += cap[p]! + 1;
  }
  const stateP = new Uint8Array(S);
  const stateA = new Uint16Array(S);
  for (let p = 0; p < P; p++)
    for (let a = 0; a <= cap[p]!; a++) {
      stateP[off[p]! + a] = p;
      stateA[off[p]! + a] = a;
    }
  let V = new Float64Array(S);
  let W = new Float64Array(S);
  // moveFrom[d * S + s]: the state a move into s at day d's start left from, or -1 (no move).
  // agedFrom[d * S + s]: the state that, by day d's end, aged into s.
  const moveFrom = new Int32Array(D * S);
  const agedFrom = new Int32Array(D * S);
  const bestOut = new Float64Array(P);
  const bestOutState = new Int32Array(P);
  const dayCost = new Float64Array(P);
  // Per dataset: a full day's storage at each placement, the fee owed for leaving each state, and
  // each move's cost, so the inner loops are array reads only.
  const storageDay = new Float64Array(P);
  const earlyFee = new Float64Array(S);
  const moveCost = new Float64Array(P * P);

  const tot = { storage: 0, requests: 0, retrieval: 0, egress: 0, transfer: 0, early: 0, moves: 0, bytesMoved: 0 };
  const readsBy = new Float64Array(P);

  for (let i = 0; i < n; i++) {
    const sz = size[i]!;
    const c = Math.max(0, Math.min(D - 1, Math.floor((inp.createdAt[i]! - start) / DAY)));
    const firstFrac = (start + (c + 1) * DAY - Math.max(inp.createdAt[i]!, start)) / DAY;
    V.fill(INF);
    V[off[inp.initial[i]!]!] = 0;
    moveFrom.fill(-1);
    agedFrom.fill(-1);
    for (let p = 0; p < P; p++) {
      storageDay[p] = cost.storage(p, sz, 1);
      for (let q = 0; q < P; q++) moveCost[p * P + q] = p === q ? 0 : cost.moveTotal(p, q, sz, INF);
    }
    for (let s = 0; s < S; s++) earlyFee[s] = cost.earlyDeletion(stateP[s]!, sz, stateA[s]!);
    for (let d = c; d < D; d++) {
      if (d > c) {
        // Leaving p: the cheapest age to leave it from, with what is owed for its minimum duration.
        for (let p = 0; p < P; p++) {
          bestOut[p] = INF;
          bestOutState[p] = -1;
          for (let a = 0; a <= cap[p]!; a++) {
            const s = off[p]! + a;
            if (V[s] === INF) continue;
            const v = V[s]! + earlyFee[s]!;
            if (v < bestOut[p]!) {
              bestOut[p] = v;
              bestOutState[p] = s;
            }
          }
        }
        for (let q = 0; q < P; q++) {
          const sq = off[q]!;
          if (!allowed[q]) continue;
          for (let p = 0; p < P; p++) {
            if (p === q || bestOutState[p]! < 0) continue;
            const v = bestOut[p]! + moveCost[p * P + q]!;
            if (v < V[sq]!) {
              V[sq] = v;
              moveFrom[d * S + sq] = bestOutState[p]!;
            }
          }
        }
      }
      const r = inp.dayReads[i * D + d]!;
      const b = inp.dayBytes[i * D + d]! / GB;
      const w = inp.dayWrites[i * D + d]!;
      const frac = d === c ? firstFrac : 1;
      for (let p = 0; p < P; p++) {
        dayCost[p] =
          storageDay[p]! * frac +
          r * cost.readReq[p]! +
          w * cost.writeReq[p]! +
          b * (cost.retrieval[p]! + cost.readEgress[p]!);
      }
      // The day passes: costs accrue and every state ages a day (capped).
      W.fill(INF);
      for (let s = 0; s < S; s++) {
        if (V[s] === INF) continue;
        const p = stateP[s]!;
        const next = off[p]! + min(stateA[s]! + 1, cap[p]!);
        const v = V[s]! + dayCost[p]!;
        if (v < W[next]!) {
          W[next] = v;
          agedFrom[d * S + next] = s;
        }
      }
      [V, W] = [W, V];
    }
    // Backtrack from the cheapest final state to recover the path and its cost parts.
    const charged = inp.charge ?? inp;
    let s = 0;
    for (let k = 1; k < S; k++) if (V[k]! < V[s]!) s = k;
    for (let d = D - 1; d >= c; d--) {
      const before = agedFrom[d * S + s]!; // the state during day d, after any move
      const p = stateP[before]!;
      const r = charged.dayReads[i * D + d]!;
      const b = charged.dayBytes[i * D + d]! / GB;
      tot.storage += cost.storage(p, sz, d === c ? firstFrac : 1);
      tot.requests += r * cost.readReq[p]! + charged.dayWrites[i * D + d]! * cost.writeReq[p]!;
      tot.retrieval += b * cost.retrieval[p]!;
      tot.egress += b * cost.readEgress[p]!;
      readsBy[p]! += r;
      s = before;
      if (d > c && moveFrom[d * S + s]! >= 0) {
        const prev = moveFrom[d * S + s]!;
        const pp = stateP[prev]!;
        const m = cost.move(pp, p, sz, stateA[prev]! >= cap[pp]! ? Infinity : stateA[prev]!);
        tot.transfer += m.transfer;
        tot.early += m.early_deletion;
        tot.moves++;
        tot.bytesMoved += sz;
        s = prev;
      }
    }
  }
  const total = tot.storage + tot.requests + tot.retrieval + tot.egress + tot.transfer + tot.early;
  return {
    policy: 'optimum',
    description: 'offline optimum: the cheapest daily placements knowing the future (a lower bound)',
    total: money(total),
    storage: money(tot.storage),
    requests: money(tot.requests),
    retrieval: money(tot.retrieval),
    egress: money(tot.egress),
    moves_cost: money(tot.transfer),
    early_deletion: money(tot.early),
    moves: tot.moves,
    bytes_moved: tot.bytesMoved,
    ...readFacts(readsBy, cost),
  };
}
