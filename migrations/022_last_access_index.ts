import type { Kysely } from 'kysely';

/**
 * The datasets page sorts by last access: an index on it, with the id as tie-breaker, lets a page
 * be read in order from the index instead of sorting every dataset (as 021 does for accesses).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('dataset_stats_last_access')
    .on('dataset_stats')
    .columns(['last_access', 'dataset_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('dataset_stats_last_access').execute();
}
