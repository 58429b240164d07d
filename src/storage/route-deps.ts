import type { RequestHandler } from 'express';
import type { DatasetsService } from '../datasets';
import type { ContentService } from './content-service';
import type { Keyring } from './keyring';
import type { HeaderRewrite } from './rewrite';
import type { MasterRotation } from './master-rotation';
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
  masterRotation: MasterRotation;
  requireWrite: RequestHandler;
}
