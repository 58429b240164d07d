/**
 * A scheduler run's scan: every dataset decided, page by page, the decisions that changed
 * stored, the best moves kept for the budget, and a sample kept for forecast observations.
 */
import type { Fence } from '../db';
import { moveOrder, TopK } from './budget';
import { type Decision } from './decision';
import { type TieringPolicy } from './policy';
import type { CandidateRow, DecisionRow } from './repository';
import type { TieringService } from './service';

const PAGE = 20_000;

export interface Proposal {
  d: Decision;
  prev: CandidateRow;
}

/** What the phases of one run share. */
export interface RunContext {
  tiering: TieringService;
  runId: number;
  now: number;
  /** Held decisions by rule. */
  held: Record<string, number>;
  /** Decisions held for the budget, to be written with the next batch. */
  budgetHeld: DecisionRow[];
  /** Throws when this instance may no longer write the run's results (it lost the scheduler's lease): a cheap early stop. */
  guard: () => Promise<void>;
  /** The same, inside each write's transaction (absent: no lease in use). */
  fence?: Fence;
}

export function holdForBudget(ctx: RunContext, p: Proposal): void {
  p.d.action = 'held';
  p.d.rule = 'budget';
  ctx.held.budget = (ctx.held.budget ?? 0) + 1;
  if (changed(p.d, p.prev)) ctx.budgetHeld.push(ctx.tiering.toRow(p.d, ctx.runId, ctx.now));
}

/**
 * A stored decision is rewritten only when it says something new: another action, rule or
 * target, or a forecast that moved by more than a quarter (and one access). Its made_at therefore says since when.
 */
export function changed(d: Decision, row: CandidateRow): boolean {
  if (row.prev_action === null) return true;
  if (row.prev_action !== d.action || row.prev_rule !== d.rule || row.prev_to !== `${d.to.location}/${d.to.tier}`)
    return true;
  const before = row.prev_forecast ?? 0;
  return Math.abs(d.forecast.accesses - before) > 1 + 0.25 * before;
}

/** A uniform sample of k items from a stream (Algorithm R). */
export class Reservoir<T> {
  readonly items: T[] = [];
  private seen = 0;
  constructor(private readonly k: number) {}
  offer(item: T): void {
    this.seen++;
    if (this.items.length < this.k) this.items.push(item);
    else {
      const j = Math.floor(Math.random() * this.seen);
      if (j < this.k) this.items[j] = item;
    }
  }
}

export interface ScanResult {
  datasets: number;
  written: number;
  /** The moves the budget can take (the best budgetMoves of them by moveOrder). */
  best: TopK<Proposal>;
  sample: CandidateRow[];
}

export async function scan(ctx: RunContext, policy: TieringPolicy): Promise<ScanResult> {
  const { tiering, runId, now, held } = ctx;
  const { repo, settings } = tiering;
  const moving = await repo.scan.movingDatasetIds();
  // A proposal that falls out of the kept best is held for the budget at once, so memory stays bounded.
  const best = new TopK<Proposal>(settings.budgetMoves, (a, b) => moveOrder(a.d, b.d));
  const sample = new Reservoir<CandidateRow>(settings.observationsPerRun);
  const census = tiering.predictor.returns.begin(now);
  let datasets = 0;
  let written = 0;
  const policies = await repo.policies.all();
  const cleared: number[] = [];
  // Writes go on the main connection while the next page is read on the reader, so
  // reading, deciding and writing overlap.
  let writes = Promise.resolve();
  // The next page is read (on the reader's thread) while this one is decided.
  let next: Promise<CandidateRow[]> | undefined = repo.scan.page(0, PAGE, policies);
  while (next) {
    const rows: CandidateRow[] = await next;
    if (rows.length === 0) break;
    next = rows.length < PAGE ? undefined : repo.scan.page(rows[rows.length - 1]!.id, PAGE, policies);
    const out: DecisionRow[] = [];
    for (const row of rows) {
      datasets++;
      const d = tiering.decide(policy, row, moving.has(row.id), now);
      census.count(
        row.reads ?? 0,
        row.writes ?? 0,
        row.scans ?? 0,
        row.created_at,
        row.first_access,
        row.decay_at ?? 0,
      );
      if (d.action === 'held') held[d.rule!] = (held[d.rule!] ?? 0) + 1;
      if (d.action === 'move') {
        const dropped = best.offer({ d, prev: row });
        if (dropped) holdForBudget(ctx, dropped);
      } else if (d.action === 'stay' && d.rule === null) {
        // Already at its cheapest allowed placement: nothing to store (its explanation is
        // computed on request); a stored recommendation it no longer needs is cleared.
        if (row.prev_action !== null) cleared.push(row.id);
      } else if (changed(d, row)) out.push(tiering.toRow(d, runId, now));
      sample.offer(row);
    }
    out.push(...ctx.budgetHeld.splice(0));
    written += out.length;
    // At most one page's writes in flight: decisions never pile up in memory.
    await writes;
    await ctx.guard();
    writes = repo.decisions.save(out, ctx.fence);
  }
  await writes;
  await ctx.guard();
  await repo.decisions.delete(cleared, ctx.fence);
  // The next run forecasts with what this one counted of the fleet's idle spells (kept with the model).
  tiering.predictor.returns.learn(census);
  await repo.observations.saveModel(tiering.predictor.state(), now, ctx.fence);
  return { datasets, written, best, sample: sample.items };
}
