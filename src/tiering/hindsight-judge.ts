import type { CostModel } from './cost';
import { repriceLogged } from './explain-view';
import { decodeExplanation } from './explanation';
import { judgeMove, loggedMove, summariseJudgements, type HindsightSummary } from './hindsight';
import type { HindsightRepository, LoggedMoveOutcome } from './hindsight-repository';
import type { TieringPolicy } from './policy';

/** What pricing a logged move again gives: its costs per month, and the inputs the judgement reads. */
interface PricedMove {
  /** What the figures were priced from: a row with other inputs (an id used again) is priced again. */
  inputs: string;
  priced: { cost_now_month: number; cost_target_month: number };
  explained: { size_bytes: number; days_here: number; horizon_days: number };
}

export interface HindsightJudgeDeps {
  repo: Pick<HindsightRepository, 'latest' | 'rolledUntil'>;
  /** The cost model of a catalog version (one version's prices never change). */
  costModel(version: number): Promise<CostModel>;
  policyOf(cost: CostModel): TieringPolicy;
  now(): number;
}

/**
 * The latest executed moves judged after the fact (hindsight.ts). A logged move's predicted
 * costs come from its stored inputs and its catalog version, neither of which changes: each is
 * priced once and kept, by decision id, for as long as the move is among the latest. Only the
 * judgement (the accesses that came, the window so far) is worked out on every request.
 */
export class HindsightJudge {
  private priced = new Map<number, PricedMove>();
  /** Moves priced so far (the tests count them). */
  repriced = 0;

  constructor(private readonly deps: HindsightJudgeDeps) {}

  async summary(limit: number): Promise<HindsightSummary> {
    const now = this.deps.now();
    const rows = await this.deps.repo.latest(limit, now, await this.deps.repo.rolledUntil());
    const kept = new Map<number, PricedMove>();
    const policies = new Map<number, TieringPolicy>();
    const judgements = [];
    for (const x of rows) {
      const cost = await this.deps.costModel(x.catalog_version);
      let p = this.priced.get(x.id);
      if (!p || p.inputs !== inputsOf(x)) {
        let policy = policies.get(x.catalog_version);
        if (!policy) policies.set(x.catalog_version, (policy = this.deps.policyOf(cost)));
        p = { inputs: inputsOf(x), priced: repriceLogged(x, policy), explained: decodeExplanation(x.explanation) };
        this.repriced++;
      }
      kept.set(x.id, p);
      const used = { reads: x.reads, readBytes: x.read_bytes, writes: x.writes, writeBytes: x.write_bytes };
      judgements.push(judgeMove(cost, loggedMove(x, p.explained, p.priced), used, now));
    }
    // Only the moves of this request are kept: the memory is bounded by the limit.
    this.priced = kept;
    return summariseJudgements(judgements);
  }
}

function inputsOf(x: LoggedMoveOutcome): string {
  return `${x.catalog_version}|${x.from_location}|${x.from_tier}|${x.to_location}|${x.to_tier}|${x.explanation}`;
}
