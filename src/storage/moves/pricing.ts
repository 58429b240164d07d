import type { Logger } from '../../platform';
import type { BatchMove } from '../repository';

/** A move about to be queued, as the one who prices it sees it. */
export type MoveToPrice = Pick<
  BatchMove,
  'dataset_id' | 'from_location' | 'from_tier' | 'to_location' | 'to_tier' | 'reason'
>;

/**
 * Logs the decision a move carries out, so that what the pending moves save adds up whoever
 * queued them (tiering implements it: the stored recommendation when the move goes there,
 * otherwise the move priced on its own). Returns the log id by dataset.
 */
export interface MovePricing {
  log(moves: readonly MoveToPrice[]): Promise<Map<number, number>>;
  /** Withdraws logged decisions whose move was not queued after all. */
  unlog(ids: readonly number[]): Promise<void>;
}

/**
 * The pricing hook as the queue uses it: a failure to price is logged and the move goes ahead
 * unlinked (a move the operator asked for is not refused because its saving could not be
 * counted).
 */
export class MovePricer {
  private pricing: MovePricing | undefined;

  constructor(private readonly logger: Logger) {}

  use(pricing: MovePricing): void {
    this.pricing = pricing;
  }

  async log(moves: readonly MoveToPrice[]): Promise<Map<number, number>> {
    if (!this.pricing || moves.length === 0) return new Map();
    try {
      return await this.pricing.log(moves);
    } catch (err) {
      this.logger.warn('move.pricing_failed', { moves: moves.length, error: err as Error });
      return new Map();
    }
  }

  async unlog(ids: readonly number[]): Promise<void> {
    if (!this.pricing || ids.length === 0) return;
    await this.pricing.unlog(ids).catch((err: unknown) => {
      this.logger.warn('move.unlog_failed', { decisions: ids.length, error: err as Error });
    });
  }
}
