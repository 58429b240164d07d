import { AppError } from '../platform';
import type { Db } from './connections';

/**
 * Run first inside a write's transaction: throws, and so rolls the write back, when the writer
 * may no longer write (another instance took over its lease or its claim). A check made before
 * the transaction could pass and then go stale while the process pauses; inside it, the database
 * itself refuses the stale writer.
 */
export type Fence = (trx: Db) => Promise<void>;

/** What a Fence throws: the write was refused (409), already logged and counted by whoever refused it. */
export class WriteRefused extends AppError {
  constructor(
    readonly job: string,
    message: string,
  ) {
    super(409, message, { job });
    this.name = 'WriteRefused';
  }
}

/** The callers' own failure logs skip a refusal: the fence logged it once. */
export function isWriteRefused(err: unknown): err is WriteRefused {
  return err instanceof WriteRefused;
}

/**
 * Runs `write` in one transaction that `fence` checks first, so the write and the check commit
 * or roll back together; without a fence (one instance, no lease), on `db` as it is.
 */
export async function fenced<T>(db: Db, fence: Fence | undefined, write: (db: Db) => Promise<T>): Promise<T> {
  if (!fence) return write(db);
  return db.transaction().execute(async (trx) => {
    await fence(trx);
    return write(trx);
  });
}
