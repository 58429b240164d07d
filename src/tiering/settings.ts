/** The scheduler's settings: the policy's, plus its timer and sampling; stored ones override the configured defaults. */
import type { PolicySettings } from './decision';

export interface SchedulerSettings extends PolicySettings {
  enabled: boolean;
  intervalMs: number;
  observationsPerRun: number;
}

/** The settings stored (as `scheduler.<key>`) when changed through the API or the pages. */
export const SETTING_KEYS = [
  'enabled',
  'intervalMs',
  'horizonDays',
  'hysteresis',
  'minSavingPerMonth',
  'cooldownMs',
  'defaultMaxLatencyMs',
  'budgetBytes',
  'budgetMoves',
  'observationsPerRun',
  'minModelUpdates',
] as const;
