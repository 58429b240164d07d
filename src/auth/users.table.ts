import type { Generated, Selectable } from 'kysely';

/** Row types of the tables migrations/006_users.ts creates (the auth capability owns them). */
export const ROLES = ['viewer', 'operator'] as const;
export type Role = (typeof ROLES)[number];

export interface UsersTable {
  id: Generated<number>;
  username: string;
  role: Role;
  /** `scrypt$N$r$p$salt$hash`, see passwords.ts. */
  password_hash: string;
  created_at: number;
  updated_at: number;
}

export interface RevokedSessionsTable {
  /** The JWT id of a session ended by logout. */
  jti: string;
  /** When the token would have expired: the row can go after that. */
  expires_at: number;
}

// A type alias, not an interface: Kysely's withTables() needs the implicit index signature.
export type AuthTables = {
  users: UsersTable;
  revoked_sessions: RevokedSessionsTable;
};

export type UserRow = Selectable<UsersTable>;
