import type { RequestHandler } from 'express';
import type { Location, Tier } from '../db';
import type { DatasetsService } from '../datasets';
import type { ContentService } from './content-service';
import type { Keyring } from './keyring';
import type { HeaderRewrite } from './rewrite';
import type { MoveService } from './moves';
import type { StorageRepository } from './repository';
import type { ScrubService } from './scrub';

export interface StorageRouteDeps {
  content: ContentService;
  moves: MoveService;
  repo: StorageRepository;
  datasets: DatasetsService;
  keyring: Keyring;
  scrub: ScrubService;
  headerRewrite: HeaderRewrite;
  requireWrite: RequestHandler;
  /** The tiering policy's say on a manual move (a pinned dataset asks first); none: moves go ahead. */
  pinnedMove?: PinnedMoveGate;
}

/**
 * Before a manual move: throws (409, field `pinned`) when the dataset is pinned and `choice` is
 * absent; answers the move a new pin queued, or undefined to queue the manual move.
 */
export type PinnedMoveGate = (
  datasetId: number,
  target: { tier: Tier; location: Location },
  choice: 'unpin' | 'pin' | undefined,
) => Promise<{ moveId: number } | undefined>;
