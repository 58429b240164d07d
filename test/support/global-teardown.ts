import { stopRunCluster } from './postgres';

export default function globalTeardown(): void {
  stopRunCluster();
}
