import type { Db } from './connections';

/**
 * Run first inside a write's transaction: throws, and so rolls the write back, when the writer
 * may no longer write (another instance took over its lease or its claim). A check made before
 * the transaction could pass and then go stale while the process pauses; inside it, the database
 * itself refuses the stale writer.
 */
export type Fence = (trx: Db) => Promise<void>;
