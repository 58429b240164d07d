import crypto from 'node:crypto';
import os from 'node:os';

/**
 * This process's name among the instances sharing a database: INSTANCE_ID when set, else
 * hostname, pid and a random suffix, so a restarted process never inherits its predecessor's
 * leases or move claims by accident (it recovers them as any other instance would).
 */
export function instanceId(configured: string | undefined): string {
  if (configured) return configured;
  return `${os.hostname()}-${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
}
