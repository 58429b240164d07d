import { AppError, type Clock, type Logger } from '../platform';
import type { GapRow, GapsRepository } from './gaps-repository';

export interface StreamGapsDeps {
  repo: GapsRepository;
  clock: Clock;
  logger: Logger;
}

/** Lost stretches of the log as operators see them: listed until one of them acknowledges each. */
export class StreamGaps {
  constructor(private readonly deps: StreamGapsDeps) {}

  unacknowledged(): Promise<GapRow[]> {
    return this.deps.repo.unacknowledged();
  }

  /** `by` names the operator (`user:NAME`); 404 when there is no such gap still open. */
  async acknowledge(id: number, by: string): Promise<void> {
    if (!(await this.deps.repo.acknowledge(id, by, this.deps.clock.now())))
      throw AppError.notFound(`no unacknowledged gap ${id}`);
    this.deps.logger.info('stream.gap_acknowledged', { gap_id: id, by });
  }
}
