export { MoveService, type MoveServiceDeps } from './service';
export { type MoveRequest } from './queue';
export { moveProgress, type LiveProgress, type MoveProgressView } from './progress';
export { restoreWait } from './restore-wait';
