import fsp from 'node:fs/promises';
import type { Logger } from '../platform';

/**
 * Named points (a move, an upload, a master key rotation, a backup) where a test can step in. Inert unless DIM_FAULT_PAUSE names the point
 * (a test-only variable; never set it in production): then the process logs `fault.paused` and
 * waits there for ever, for a crash test to kill it with SIGKILL. `point:corrupt` instead flips
 * one byte of the file the point is about (`file`, at `at`), once, and goes on: a test of the
 * move's verification.
 */
export type FaultPoint =
  | 'move.before_copy'
  | 'move.mid_copy'
  | 'move.before_verify'
  | 'move.after_rename'
  | 'move.after_switch'
  | 'rotate.after_relabel'
  | 'rotate.after_rewrap'
  | 'upload.after_rename'
  | 'upload.after_switch'
  | 'backup.after_copy'
  | 'backup.after_rename';

export class Faults {
  private readonly pauseAt: ReadonlySet<string>;
  private readonly corruptAt: Set<string>;

  constructor(
    spec: string | undefined,
    private readonly logger: Logger,
  ) {
    const names = (spec ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    this.pauseAt = new Set(names.filter((n) => !n.endsWith(':corrupt')));
    this.corruptAt = new Set(names.filter((n) => n.endsWith(':corrupt')).map((n) => n.slice(0, -':corrupt'.length)));
  }

  async reach(point: FaultPoint, fields: { file?: string; at?: number; [k: string]: unknown } = {}): Promise<void> {
    if (this.corruptAt.delete(point) && fields.file !== undefined) {
      const fh = await fsp.open(fields.file, 'r+');
      try {
        const byte = Buffer.alloc(1);
        await fh.read(byte, 0, 1, fields.at ?? 0);
        byte[0] = byte[0]! ^ 0xff;
        await fh.write(byte, 0, 1, fields.at ?? 0);
      } finally {
        await fh.close();
      }
      this.logger.warn('fault.corrupted', { point, ...fields });
      return;
    }
    if (!this.pauseAt.has(point)) return;
    this.logger.warn('fault.paused', { point, ...fields });
    await new Promise<never>(() => undefined);
  }
}
