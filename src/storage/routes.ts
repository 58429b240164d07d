import { Router } from 'express';
import { contentRoutes } from './content-routes';
import { keyRoutes } from './key-routes';
import { demoMoveRoutes, moveRoutes } from './move-routes';
import type { StorageRouteDeps } from './route-deps';
import { scrubRoutes } from './scrub-routes';

export { uploadRoutes } from './content-routes';
export type { StorageRouteDeps } from './route-deps';

/** Storage's JSON routes: content downloads, moves (and the original demo's), keys, the scrub. */
export function storageRoutes(d: StorageRouteDeps): Router {
  return Router().use(contentRoutes(d), moveRoutes(d), demoMoveRoutes(d), keyRoutes(d), scrubRoutes(d));
}
