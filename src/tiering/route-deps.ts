import type { RequestHandler } from 'express';
import type { TierScheduler } from './scheduler';
import type { TieringService } from './service';

export interface TieringRouteDeps {
  tiering: TieringService;
  scheduler: TierScheduler;
  /** Resolves the dataset or throws 404. */
  datasetExists: (id: number) => Promise<unknown>;
  requireWrite: RequestHandler;
}
