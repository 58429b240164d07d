export { ContentService } from './content-service';
export { StorageDatasetHooks } from './dataset-hooks';
export { Faults } from './faults';
export { Keyring } from './keyring';
export {
  MoveService,
  moveProgress,
  restoreWait,
  type MoveProgressView,
  type MovePricing,
  type MoveToPrice,
} from './moves';
export { StorageRepository, type BatchMove } from './repository';
export { ScrubService } from './scrub';
export { StoredObjects } from './stored-objects';
export { storePanel, type StorePanelRow } from './store-views';
export { storageRoutes, uploadRoutes } from './routes';
export { Bandwidth } from './throttle';
export { TierTree } from './tier-tree';
export { CatalogRecovery, NOT_IN_OBJECTS, type RecoverReport } from './recover';
export { HeaderRewrite, type RewriteReport } from './rewrite';
export {
  DEFAULT_CLASSES,
  FileObjectStore,
  ObjectStores,
  STORAGE_CLASS_FACTS,
  objectKey,
  type ObjectStore,
  type StoreSpec,
  type StoreSpecs,
  type StorageClassFacts,
  type StoreView,
} from './stores';
export { MasterRotation, type MasterRotationReport } from './master-rotation';
