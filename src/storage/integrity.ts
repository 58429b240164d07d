import { type Fence, type IntegrityFinder, isWriteRefused } from '../db';
import { AppError, type Clock, type Logger } from '../platform';
import type { StorageRepository } from './repository';

export interface Damage {
  datasetId: number;
  objectId: string;
  foundBy: IntegrityFinder;
  detail: string;
  /** The request that found it (a download), so its 500's request id finds this log line. */
  requestId?: string;
}

export interface IntegrityDeps {
  repo: StorageRepository;
  clock: Clock;
  logger: Logger;
}

/**
 * Where every integrity failure goes, whoever found it: logged (with the request id when a
 * request found it), kept in integrity_failures (counted in /metrics), and the dataset marked
 * damaged until its content is replaced or verifies again.
 */
export class Integrity {
  constructor(private readonly deps: IntegrityDeps) {}

  /** `fence`: the scrub's finding, recorded only under its lease (a refusal is thrown, not swallowed). */
  async damaged(d: Damage, fence?: Fence): Promise<void> {
    const { repo, clock, logger } = this.deps;
    logger.error('storage.integrity_failure', {
      request_id: d.requestId,
      dataset_id: d.datasetId,
      object: d.objectId,
      found_by: d.foundBy,
      detail: d.detail,
    });
    await repo
      .recordDamage(
        {
          dataset_id: d.datasetId,
          object_id: d.objectId,
          found_by: d.foundBy,
          detail: d.detail,
          request_id: d.requestId ?? null,
          at: clock.now(),
        },
        fence,
      )
      .catch((err: unknown) => {
        if (isWriteRefused(err)) throw err;
        logger.error('storage.integrity_record_failed', { dataset_id: d.datasetId, error: err as Error });
      });
  }
}

/** The answer to a download whose stored object failed verification before anything was sent. */
export function damagedContent(datasetId: number, detail: string, requestId?: string): AppError {
  return new AppError(500, `the stored content failed verification: ${detail}`, {
    dataset_id: datasetId,
    damaged: true,
    ...(requestId ? { request_id: requestId } : {}),
  });
}
