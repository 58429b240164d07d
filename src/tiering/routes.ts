import { Router } from 'express';
import { catalogRoutes } from './catalog-routes';
import { decisionRoutes } from './decision-routes';
import { historyRoutes } from './history-routes';
import { modelRoutes } from './model-routes';
import { datasetPolicyRoutes } from './policy-routes';
import type { TieringRouteDeps } from './route-deps';
import { schedulerRoutes } from './scheduler-routes';

export { parsePolicy } from './policy-routes';
export type { TieringRouteDeps } from './route-deps';
export { parseSettings } from './scheduler-routes';

/** Tiering's HTTP API, by group. */
export function tieringRoutes(d: TieringRouteDeps): Router {
  return Router().use(
    decisionRoutes(d),
    datasetPolicyRoutes(d),
    modelRoutes(d),
    catalogRoutes(d),
    schedulerRoutes(d),
    historyRoutes(d),
  );
}
