import { Lease, LeaseRepository } from './cluster';
import type { Config, KafkaConfig } from './config';
import type { Db } from './db';
import type { Logger } from './platform';

/** One instance at a time runs `job`; renewed every LEASE_TTL/3. */
export function leaseOf(
  base: { config: Config; db: Db; logger: Logger; instance: string; exclusive: boolean },
  job: string,
): Lease {
  const { config, db, logger, instance, exclusive } = base;
  const ttlMs = config.cluster.leaseTtlMs;
  return new Lease({
    repo: new LeaseRepository(db),
    job,
    instance,
    ttlMs,
    exclusive,
    logger: logger.child({ part: 'lease' }),
  });
}

/** SQLite state on Kafka: this instance must be its group's only member (see SoleMember). */
export function soleMemberOf(
  kafka: KafkaConfig,
  instance: string,
  refuse: (err: Error) => void,
): { graceMs: number; beaconMs: number; instance: string; refuse: (err: Error) => void } {
  // A crashed predecessor holds its partitions for up to twice the session timeout.
  const session = Number(kafka.extra['session.timeout.ms'] ?? 45_000);
  return { graceMs: 2 * session + 15_000, beaconMs: 1_000, instance, refuse };
}
