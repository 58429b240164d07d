export { STORAGE_CLASS_FACTS, restoreHours, type StorageClassFacts } from './classes';
export { FileObjectStore } from './file-object-store';
export { MissingObject, type ObjectHead, type ObjectStore, type StoreDescription } from './object-store';
export { DEFAULT_CLASSES, RESTORE_CLASSES, needsRestore, objectKey, type StoreSpec, type StoreSpecs } from './spec';
export { ObjectStores, type StoreView } from './stores';
