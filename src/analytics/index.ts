export { HALF_LIVES, decayTo, ratePerHour } from './decay';
export { addLargeRead, noLargeReads, type LargeReads } from './large-reads';
export {
  addReadPhase,
  monthPhase,
  noReadPhases,
  twoMonthPhase,
  twoWeekPhase,
  weekPhase,
  type ReadPhases,
  READ_PHASE_COLUMNS,
} from './read-phases';
export { StatsMaintenance } from './maintenance';
export { analyticsRoutes } from './routes';
export { AnalyticsService } from './service';
export { StatsRepository } from './stats-repository';
export { StatsWriter } from './stats-writer';
