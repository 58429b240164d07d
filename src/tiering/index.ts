export { parseCatalog, type PriceCatalog } from './catalog';
export { CostModel } from './cost';
export { type CostDay, type PlacementCost } from './cost-history';
export { CostSnapshotJob } from './cost-snapshots';
export { LOCATIONS, PLACEMENTS, TIERS, placementIndex, placementKey, type Location, type Tier } from './placements';
export { type PolicySettings } from './decision';
export { fleetLessons, type FleetLessons } from './model-view';
export { TieringMovePricing } from './move-pricing';
export { ruleText } from './explain-view';
export { TieringPolicy } from './policy';
export { LABEL_DAYS, Predictor } from './predictor';
export { PINNED_CHOICES, resolvePinnedMove, type PinnedChoice } from './pinned-move';
export { TieringRepository } from './repository';
export { MATRIX_LIMITS, REPLAY_LIMITS, type ReplayOutcome, type ReplayRequest } from './replay';
export { parsePolicy, parseSettings, tieringRoutes } from './routes';
export { TierScheduler } from './scheduler';
export { TieringService } from './service';
export { placementClasses, type PlacementClasses } from './store-classes';
export type { SchedulerSettings } from './settings';
export { BASELINE_POLICIES, productPolicy } from './sim/policies';
export { simulate, type SimResult } from './sim/runner';
export { type Trace, type TraceDataset, type TraceEvent } from './sim/trace';
export { WORKLOADS } from './sim/workloads';

/** `npm run simulate`'s command line, loaded on demand (the CLI's `simulate` command). */
export async function runSimulateCli(): Promise<void> {
  const cli = await import('./sim/cli');
  await cli.main();
}
