import type { Logger } from '../platform/logger';

/**
 * Named points in a move where a crash test can hold the process still and kill it with
 * SIGKILL. Inert unless DIM_FAULT_PAUSE names the point (a test-only variable; never set it in
 * production): then the process logs `fault.paused` and waits there for ever.
 */
export type FaultPoint = 'move.before_copy' | 'move.mid_copy' | 'move.after_rename' | 'move.after_switch';

export class Faults {
  private readonly pauseAt: ReadonlySet<string>;

  constructor(spec: string | undefined, private readonly logger: Logger) {
    this.pauseAt = new Set((spec ?? '').split(',').map((s) => s.trim()).filter(Boolean));
  }

  async reach(point: FaultPoint, fields: Record<string, unknown> = {}): Promise<void> {
    if (!this.pauseAt.has(point)) return;
    this.logger.warn('fault.paused', { point, ...fields });
    await new Promise<never>(() => undefined);
  }
}
