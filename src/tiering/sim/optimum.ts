import type { CostModel } from '../cost';
import { PLACEMENTS } from '../placements';
import { money, readFacts, type PolicyResult } from './result';

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

/** The DP's states: placement p with ages 0..cap[p] (days there, capped at its minimum duration) at offsets off[p]... */
export interface Layout {
  P: number;
  S: number;
  cap: number[];
  off: number[];
  stateP: Uint8Array;
  stateA: Uint16Array;
  /** Placements fast enough for the latency limit. */
  allowed: boolean[];
}

export function layout(cost: CostModel, maxLatencyMs: number | null): Layout {
  const P = PLACEMENTS.length;
  const allowed = PLACEMENTS.map((_, p) => maxLatencyMs === null || cost.firstByteMs[p]! <= maxLatencyMs);
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
  return { P, S, cap, off, stateP, stateA, allowed };
}

/** Buffers reused from one dataset to the next. */
class Work {
  V: Float64Array;
  W: Float64Array;
  /** moveFrom[d * S + s]: the state a move into s at day d's start left from, or -1 (no move). */
  readonly moveFrom: Int32Array;
  /** agedFrom[d * S + s]: the state that, by day d's end, aged into s. */
  readonly agedFrom: Int32Array;
  readonly bestOut: Float64Array;
  readonly bestOutState: Int32Array;
  readonly dayCost: Float64Array;
  // Per dataset: a full day's storage at each placement, the fee owed for leaving each state, and
  // each move's cost, so the inner loops are array reads only.
  readonly storageDay: Float64Array;
  readonly earlyFee: Float64Array;
  readonly moveCost: Float64Array;

  constructor(L: Layout, D: number) {
    this.V = new Float64Array(L.S);
    this.W = new Float64Array(L.S);
    this.moveFrom = new Int32Array(D * L.S);
    this.agedFrom = new Int32Array(D * L.S);
    this.bestOut = new Float64Array(L.P);
    this.bestOutState = new Int32Array(L.P);
    this.dayCost = new Float64Array(L.P);
    this.storageDay = new Float64Array(L.P);
    this.earlyFee = new Float64Array(L.S);
    this.moveCost = new Float64Array(L.P * L.P);
  }

  price(cost: CostModel, L: Layout, sz: number): void {
    const { P, S } = L;
    for (let p = 0; p < P; p++) {
      this.storageDay[p] = cost.storage(p, sz, 1);
      for (let q = 0; q < P; q++) this.moveCost[p * P + q] = p === q ? 0 : cost.moveTotal(p, q, sz, INF);
    }
    for (let s = 0; s < S; s++) this.earlyFee[s] = cost.earlyDeletion(L.stateP[s]!, sz, L.stateA[s]!);
  }
}

/** One dataset's days, for the forward pass and the backtrack. */
interface DatasetDays {
  i: number;
  sz: number;
  /** The day it was created (0 if before the trace)... */
  c: number;
  /** ...and the share of that day it existed. */
  firstFrac: number;
}

/** At day d's start: the cheapest way into each allowed placement by a move, from the cheapest age to leave another. */
function moves(L: Layout, w: Work, d: number): void {
  const { P, S, cap, off } = L;
  const { V, bestOut, bestOutState, earlyFee, moveCost, moveFrom } = w;
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
    if (!L.allowed[q]) continue;
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

/** The forward pass: after it, w.V holds the cheapest cost of ending in each state. */
function forward(inp: OptimumInput, L: Layout, w: Work, x: DatasetDays): void {
  const { cost, days: D } = inp;
  const { P, S, cap, off, stateP, stateA } = L;
  const { i, c } = x;
  w.V.fill(INF);
  w.V[off[inp.initial[i]!]!] = 0;
  w.moveFrom.fill(-1);
  w.agedFrom.fill(-1);
  const { dayCost, storageDay, agedFrom } = w;
  for (let d = c; d < D; d++) {
    if (d > c) moves(L, w, d);
    const r = inp.dayReads[i * D + d]!;
    const b = inp.dayBytes[i * D + d]! / GB;
    const wr = inp.dayWrites[i * D + d]!;
    const frac = d === c ? x.firstFrac : 1;
    for (let p = 0; p < P; p++) {
      dayCost[p] =
        storageDay[p]! * frac +
        r * cost.readReq[p]! +
        wr * cost.writeReq[p]! +
        b * (cost.retrieval[p]! + cost.readEgress[p]!);
    }
    // The day passes: costs accrue and every state ages a day (capped).
    const { V, W } = w;
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
    w.V = W;
    w.W = V;
  }
}

interface Totals {
  storage: number;
  requests: number;
  retrieval: number;
  egress: number;
  transfer: number;
  early: number;
  moves: number;
  bytesMoved: number;
  readsBy: Float64Array;
}

/** Backtracks from the cheapest final state to recover the path, and charges its cost parts. */
function backtrack(inp: OptimumInput, L: Layout, w: Work, x: DatasetDays, tot: Totals): void {
  const { cost, days: D } = inp;
  const { S, cap, stateP, stateA } = L;
  const { i, c, sz } = x;
  const charged = inp.charge ?? inp;
  const V = w.V;
  let s = 0;
  for (let k = 1; k < S; k++) if (V[k]! < V[s]!) s = k;
  for (let d = D - 1; d >= c; d--) {
    const before = w.agedFrom[d * S + s]!; // the state during day d, after any move
    const p = stateP[before]!;
    const r = charged.dayReads[i * D + d]!;
    const b = charged.dayBytes[i * D + d]! / GB;
    tot.storage += cost.storage(p, sz, d === c ? x.firstFrac : 1);
    tot.requests += r * cost.readReq[p]! + charged.dayWrites[i * D + d]! * cost.writeReq[p]!;
    tot.retrieval += b * cost.retrieval[p]!;
    tot.egress += b * cost.readEgress[p]!;
    tot.readsBy[p]! += r;
    s = before;
    if (d > c && w.moveFrom[d * S + s]! >= 0) {
      const prev = w.moveFrom[d * S + s]!;
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
  const L = layout(cost, inp.maxLatencyMs);
  const w = new Work(L, D);
  const tot: Totals = {
    storage: 0,
    requests: 0,
    retrieval: 0,
    egress: 0,
    transfer: 0,
    early: 0,
    moves: 0,
    bytesMoved: 0,
    readsBy: new Float64Array(L.P),
  };
  for (let i = 0; i < n; i++) {
    const sz = size[i]!;
    const c = Math.max(0, Math.min(D - 1, Math.floor((inp.createdAt[i]! - start) / DAY)));
    const firstFrac = (start + (c + 1) * DAY - Math.max(inp.createdAt[i]!, start)) / DAY;
    const x: DatasetDays = { i, sz, c, firstFrac };
    w.price(cost, L, sz);
    forward(inp, L, w, x);
    backtrack(inp, L, w, x, tot);
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
    ...readFacts(tot.readsBy, cost),
  };
}
