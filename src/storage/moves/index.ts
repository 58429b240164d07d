export { MoveService, type MoveServiceDeps } from './service';
export { type MoveRequest } from './queue';
export { moveProgress, type LiveProgress, type MoveProgressView } from './progress';
export { type MovePricing, type MoveToPrice } from './pricing';
export { restoreWait } from './restore-wait';
