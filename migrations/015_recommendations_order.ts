import type { Kysely } from 'kysely';

/** The recommendations page lists stored decisions by saving: an index keeps a page cheap at any fleet size. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('decisions_saving').on('decisions').columns(['saving_month', 'dataset_id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('decisions_saving').execute();
}
