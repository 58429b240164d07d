export { ContentService } from './content-service';
export { StorageDatasetHooks } from './dataset-hooks';
export { Faults } from './faults';
export { Keyring } from './keyring';
export { MoveService, moveProgress, type MoveProgressView } from './moves';
export { StorageRepository, type BatchMove } from './repository';
export { storageRoutes, uploadRoutes } from './routes';
export { Bandwidth } from './throttle';
export { TierTree } from './tier-tree';
