/**
 * A scheduler run's plan: the kept moves within the byte budget, logged as decisions and handed
 * to the move queue in batches; a dataset moved or deleted since the scan is skipped, and its
 * decision says so.
 */
import type { Decision } from './decision';
import type { DecisionRow } from './repository';
import { holdForBudget, type Proposal, type RunContext } from './run-scan';
import type { MoveEnqueuer } from './service';

export interface PlannedMove {
  move_id: number;
  dataset_id: number;
  from: string;
  to: string;
  decision_id: number;
  reason: string;
}

export async function plan(
  ctx: RunContext,
  moves: MoveEnqueuer,
  best: readonly Proposal[],
): Promise<{ moves: PlannedMove[]; written: number }> {
  const { tiering, runId, now } = ctx;
  const { repo } = tiering;
  const rows: DecisionRow[] = [];
  const go: { d: Decision; row: DecisionRow }[] = [];
  let bytes = 0;
  for (const p of best) {
    if (bytes + p.d.sizeBytes > tiering.settings.budgetBytes) {
      holdForBudget(ctx, p);
      continue;
    }
    bytes += p.d.sizeBytes;
    const row = tiering.toRow(p.d, runId, now);
    rows.push(row);
    go.push({ d: p.d, row });
  }
  rows.push(...ctx.budgetHeld.splice(0));
  await ctx.guard();
  const logIds = await repo.decisions.log(
    go.map((g) => g.row),
    ctx.fence,
  );
  const created = await enqueueOrUnlog(
    ctx,
    moves,
    logIds,
    go.map(({ d }) => ({
      dataset_id: d.datasetId,
      from_tier: d.from.tier,
      from_location: d.from.location,
      to_tier: d.to.tier,
      to_location: d.to.location,
      reason: d.rule === 'pin' ? 'pin' : 'policy',
      reason_detail: `decision #${logIds.get(d.datasetId)}`,
      decision_id: logIds.get(d.datasetId) ?? null,
    })),
  );
  const planned: PlannedMove[] = [];
  const orphanLogs: number[] = [];
  for (const { d, row } of go) {
    const moveId = created.get(d.datasetId);
    const decisionId = logIds.get(d.datasetId)!;
    if (moveId === undefined) {
      row.action = 'held';
      row.rule = 'in-flight';
      orphanLogs.push(decisionId);
      continue;
    }
    planned.push({
      move_id: moveId,
      dataset_id: d.datasetId,
      from: `${d.from.location}/${d.from.tier}`,
      to: `${d.to.location}/${d.to.tier}`,
      decision_id: decisionId,
      reason: d.rule === 'pin' ? 'pin' : 'policy',
    });
  }
  await repo.decisions.unlog(orphanLogs);
  await repo.decisions.save(rows, ctx.fence);
  return { moves: planned, written: rows.length };
}

/** Plans the moves; when that is refused (the lease was lost after the log's commit), the log entries go too. */
async function enqueueOrUnlog(
  ctx: RunContext,
  moves: MoveEnqueuer,
  logIds: Map<number, number>,
  items: Parameters<MoveEnqueuer['enqueueBatch']>[0],
): Promise<Map<number, number>> {
  try {
    return await moves.enqueueBatch(items, ctx.fence);
  } catch (err) {
    await ctx.tiering.repo.decisions.unlog([...logIds.values()]).catch(() => undefined);
    throw err;
  }
}
