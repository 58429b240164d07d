/**
 * A model learnt before the replay starts: the trace is replayed with no policy, so the
 * predictor learns from its forecast sample exactly as it would beside the product, and the
 * replay that follows starts with that model (its learning gate already open).
 *
 * It separates what the learning period costs from what the data's short history costs: a
 * replay's statistics start empty on the first day whatever the model knows (see BENCHMARKS.md,
 * issue 13 fifth pass).
 */
import type { CostModel } from '../cost';
import type { PolicySettings } from '../decision';
import { LABEL_DAYS, Predictor } from '../predictor';
import { simulate } from './runner';
import type { Trace } from './trace';

/** Seeds of the trace a model is learnt on sit this far from the replayed one's, so the two never share draws. */
export const PRETRAIN_SEED_OFFSET = 100;

export function pretrainedPredictor(trace: Trace, cost: CostModel, settings: PolicySettings): Predictor {
  const predictor = new Predictor(LABEL_DAYS);
  simulate(trace, { cost, settings, predictor, policies: [], optimum: false });
  return predictor;
}
