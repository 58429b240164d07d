/**
 * Links every move queued outside a scheduler run (the recommendations page, a manual move, a
 * pin) to a logged decision, so that the pending saving (pending.ts) counts it: a move to the
 * dataset's stored recommendation carries that decision as the page showed it; a move anywhere
 * else is priced on its own by the same cost model, from the dataset's forecast now (its saving
 * may be negative), and logged with the rule "manual" ("pin" for a pin's move).
 */
import type { MovePricing, MoveToPrice } from '../storage';
import type { DecisionRow } from './repository';
import type { TieringService } from './service';
import { OFF_RECOMMENDATION } from './pending';
import { placementIndex } from './placements';

export class TieringMovePricing implements MovePricing {
  constructor(private readonly tiering: TieringService) {}

  async log(moves: readonly MoveToPrice[]): Promise<Map<number, number>> {
    const { repo } = this.tiering;
    const stored = await repo.decisions.getMany(moves.map((m) => m.dataset_id));
    const rows: DecisionRow[] = [];
    let priceNow: ((m: MoveToPrice) => Promise<DecisionRow | undefined>) | undefined;
    for (const m of moves) {
      const s = stored.get(m.dataset_id);
      if (s && s.action !== 'stay' && goesWhere(s, m)) rows.push(s);
      else {
        priceNow ??= this.pricer();
        const row = await priceNow(m);
        if (row) rows.push(row);
      }
    }
    return repo.decisions.log(rows);
  }

  unlog(ids: readonly number[]): Promise<void> {
    return this.tiering.repo.decisions.unlog(ids);
  }

  /** Prices moves to placements of the caller's choosing, from each dataset's forecast now. */
  private pricer(): (m: MoveToPrice) => Promise<DecisionRow | undefined> {
    const { tiering } = this;
    const policy = tiering.policyEngine();
    const now = tiering.now();
    return async (m) => {
      const candidate = await tiering.repo.scan.candidate(m.dataset_id);
      if (!candidate) return undefined;
      const d = tiering.decide(policy, candidate, false, now);
      const priced = policy.candidates(d);
      const here = priced[placementIndex(d.from)]!;
      const there = priced[placementIndex({ location: m.to_location, tier: m.to_tier })]!;
      const perMonth = 30 / d.horizonDays;
      return {
        ...tiering.toRow(d, 0, now),
        action: 'move',
        rule: m.reason === 'pin' ? 'pin' : OFF_RECOMMENDATION,
        to_location: m.to_location,
        to_tier: m.to_tier,
        cost_target_month: there.hold.total * perMonth,
        saving_month: (here.hold.total - there.hold.total) * perMonth,
        move_cost: there.move.total,
      };
    };
  }
}

function goesWhere(d: DecisionRow, m: MoveToPrice): boolean {
  return (
    d.from_location === m.from_location &&
    d.from_tier === m.from_tier &&
    d.to_location === m.to_location &&
    d.to_tier === m.to_tier
  );
}
