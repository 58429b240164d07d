import type { Insertable, Kysely, Selectable } from 'kysely';
import type { ApiKeysTable, DB } from '../db';

export type ApiKeyRow = Selectable<ApiKeysTable>;
export type NewApiKey = Omit<Insertable<ApiKeysTable>, 'id' | 'revoked_at' | 'last_used_at'>;

/** The `api_keys` table: every statement about keys. */
export class ApiKeysRepository {
  constructor(private readonly db: Kysely<DB>) {}

  live(): Promise<Pick<ApiKeyRow, 'id' | 'secret_sha256' | 'scopes'>[]> {
    return this.db
      .selectFrom('api_keys')
      .select(['id', 'secret_sha256', 'scopes'])
      .where('revoked_at', 'is', null)
      .execute();
  }

  async insert(key: NewApiKey): Promise<number> {
    const r = await this.db.insertInto('api_keys').values(key).returning('id').executeTakeFirstOrThrow();
    return r.id;
  }

  all(): Promise<Omit<ApiKeyRow, 'secret_sha256'>[]> {
    return this.db
      .selectFrom('api_keys')
      .select(['id', 'name', 'scopes', 'created_at', 'revoked_at', 'last_used_at'])
      .orderBy('id')
      .execute();
  }

  /** Revokes a live key; false when there is no live key with that id. */
  async revoke(id: number, at: number): Promise<boolean> {
    const r = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async exists(id: number): Promise<boolean> {
    return (await this.db.selectFrom('api_keys').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
  }

  /** Stores last-used times; an older time never replaces a newer one. */
  async saveLastUsed(used: ReadonlyMap<number, number>): Promise<void> {
    if (used.size === 0) return;
    await this.db.transaction().execute(async (trx) => {
      for (const [id, at] of used) {
        await trx
          .updateTable('api_keys')
          .set({ last_used_at: at })
          .where('id', '=', id)
          .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
          .execute();
      }
    });
  }
}
