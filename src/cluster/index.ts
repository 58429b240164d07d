export { DataDirLock } from './data-dir-lock';
export { instanceId } from './instance-id';
export { Lease } from './lease';
export { LeaseRepository } from './lease-repository';
