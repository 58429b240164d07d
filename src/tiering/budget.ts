/** A run's move budget: the order moves go in, and the best k kept while the scan goes by. */
import type { Decision, PolicySettings } from './decision';

/** The order moves go in: pins, then promotions of data in use (busiest first), then by saving. */
export function moveOrder(a: Decision, b: Decision): number {
  if ((a.rule === 'pin') !== (b.rule === 'pin')) return a.rule === 'pin' ? -1 : 1;
  if (a.promotion !== b.promotion) return a.promotion ? -1 : 1;
  if (a.promotion) return b.forecast.accesses - a.forecast.accesses;
  return b.savingPerMonth - a.savingPerMonth;
}

/**
 * The first `k` items by an order, kept while a stream goes by (a binary heap whose root is the
 * worst kept item): memory stays at k items however many are offered. offer() returns the item
 * that fell out (the one offered, or one it displaced), or undefined.
 */
export class TopK<T> {
  private readonly heap: T[] = [];
  constructor(
    private readonly k: number,
    /** Negative when a goes before b. */
    private readonly order: (a: T, b: T) => number,
  ) {}

  offer(item: T): T | undefined {
    const h = this.heap;
    if (h.length < this.k) {
      h.push(item);
      this.up(h.length - 1);
      return undefined;
    }
    if (this.k === 0 || this.order(item, h[0]!) >= 0) return item;
    const out = h[0]!;
    h[0] = item;
    this.down(0);
    return out;
  }

  /** The kept items, in order. */
  sorted(): T[] {
    return [...this.heap].sort(this.order);
  }

  // The root is the item that goes last (the "largest" by order).
  private worse(i: number, j: number): boolean {
    return this.order(this.heap[i]!, this.heap[j]!) > 0;
  }
  private up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.worse(i, p)) break;
      [this.heap[i], this.heap[p]] = [this.heap[p]!, this.heap[i]!];
      i = p;
    }
  }
  private down(i: number): void {
    const n = this.heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let w = i;
      if (l < n && this.worse(l, w)) w = l;
      if (r < n && this.worse(r, w)) w = r;
      if (w === i) return;
      [this.heap[i], this.heap[w]] = [this.heap[w]!, this.heap[i]!];
      i = w;
    }
  }
}

/**
 * Applies a run's budget to its proposed moves: promotions of data in use first (most expected
 * accesses first), then the rest by saving per month. Moves beyond the budget are held with the
 * rule 'budget'. Returns the moves to carry out, in order.
 */
export function applyBudget(
  decisions: Decision[],
  sizeOf: (d: Decision) => number,
  settings: Pick<PolicySettings, 'budgetBytes' | 'budgetMoves'>,
): Decision[] {
  const proposed = decisions.filter((d) => d.action === 'move');
  proposed.sort(moveOrder);
  const out: Decision[] = [];
  let bytes = 0;
  for (const d of proposed) {
    const size = sizeOf(d);
    if (out.length >= settings.budgetMoves || bytes + size > settings.budgetBytes) {
      d.action = 'held';
      d.rule = 'budget';
      continue;
    }
    bytes += size;
    out.push(d);
  }
  return out;
}
