import { type Clock, AppError, type Logger, Fields } from '../platform';
import { isUniqueViolation } from '../db';
import { generatePassword, hashPassword, verifyPassword } from './passwords';
import type { UsersRepository } from './users-repository';
import { ROLES, type Role, type UserRow } from './users.table';

export interface FirstUser {
  id: number;
  username: string;
  password: string;
}

export interface SessionUser {
  id: number;
  username: string;
  role: Role;
  /** When the password was last set: sessions signed in before then are over. */
  credentialsAt: number;
}

// A hash of a random password, verified against when the username is unknown, so a login for a
// name that does not exist takes as long as one with a wrong password (no user enumeration).
let decoyHash: Promise<string> | undefined;

/** Users of the pages: the first operator, logins, and adding or removing people. */
export class UsersService {
  constructor(
    private readonly repo: UsersRepository,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /**
   * On a first start with no user, creates the operator `admin` with a generated password: the
   * one-time setup secret, returned to be announced (announceFirstUser) once the start has
   * succeeded, or withdrawn (withdrawFirstUser) if it fails, so a start that fails (a port in use)
   * never shows a password that the next start would not.
   */
  async createFirstUser(): Promise<FirstUser | undefined> {
    if ((await this.repo.count()) > 0) return undefined;
    const password = generatePassword();
    const id = await this.repo.insertIfAbsent({
      username: 'admin',
      role: 'operator',
      password_hash: await hashPassword(password),
      now: this.clock.now(),
    });
    // Another instance on the same database made it first and announces it.
    if (id === undefined) return undefined;
    return { id, username: 'admin', password };
  }

  /** Logs the first user's password, once (`auth.first_user`). It is never logged again. */
  announceFirstUser(first: FirstUser): void {
    this.logger.warn('auth.first_user', {
      username: first.username,
      password: first.password,
      hint: 'sign in at /login with this password, then add people at /users; this line is shown once',
    });
  }

  /** Removes a first user whose password nobody saw (the start failed): the next start makes a new one. */
  async withdrawFirstUser(first: FirstUser): Promise<void> {
    await this.repo.delete(first.id);
  }

  /** The user if the password matches, else undefined (same time either way, as far as scrypt goes). */
  async authenticate(username: string, password: string): Promise<SessionUser | undefined> {
    const u = await this.repo.byName(username);
    if (!u) {
      decoyHash ??= hashPassword(generatePassword());
      await verifyPassword(password, await decoyHash);
      return undefined;
    }
    return (await verifyPassword(password, u.password_hash)) ? toSessionUser(u) : undefined;
  }

  /**
   * A new generated password for `username` (the way back in when the first start's password was
   * lost): returned once, never logged; every session the user had ends.
   */
  async resetPassword(username: string, log: Logger = this.logger): Promise<{ username: string; password: string }> {
    const u = await this.repo.byName(username);
    if (!u) throw AppError.notFound(`user "${username}" not found`, { field: 'username' });
    const password = generatePassword();
    // Always a new time, so sessions issued under the old password no longer match it.
    const now = Math.max(this.clock.now(), u.updated_at + 1);
    await this.repo.setPassword(u.id, await hashPassword(password), now);
    log.warn('auth.password_reset', { username });
    return { username, password };
  }

  async byId(id: number): Promise<SessionUser | undefined> {
    const u = await this.repo.byId(id);
    return u && toSessionUser(u);
  }

  list() {
    return this.repo.list();
  }

  /** `{username, role, password}`; 400 naming the field, 409 if the name is taken. `log`: the request's logger. */
  async create(body: unknown, log: Logger = this.logger): Promise<SessionUser> {
    const f = Fields.of(body, 'body');
    f.only(['username', 'role', 'password']);
    const username = f.string('username', { min: 1, max: 64 });
    if (!/^[A-Za-z0-9._@-]+$/.test(username)) f.fail('username', 'may hold letters, digits and . _ @ - only');
    const role = f.optEnum('role', ROLES) ?? f.fail('role', `is required (${ROLES.join(' or ')})`);
    const password = f.optString('password', { max: 200, trim: false }) ?? f.fail('password', 'is required');
    if (password.length < 12) f.fail('password', 'must be at least 12 characters');
    let id: number;
    const now = this.clock.now();
    try {
      id = await this.repo.insert({
        username,
        role,
        password_hash: await hashPassword(password),
        now,
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw AppError.conflict(`username: "${username}" is taken`, { field: 'username' });
      throw err;
    }
    log.info('auth.user_created', { user_id: id, username, role });
    return { id, username, role, credentialsAt: now };
  }

  /** Removes a user; the last operator stays, so the pages can always be administered. */
  async delete(id: number, by: SessionUser, log: Logger = this.logger): Promise<void> {
    const u = await this.repo.byId(id);
    if (!u) throw AppError.notFound('user not found', { user_id: id });
    if (u.id === by.id) throw AppError.conflict('you cannot remove yourself', { field: 'id' });
    if (u.role === 'operator' && (await this.repo.countRole('operator')) <= 1)
      throw AppError.conflict('the last operator cannot be removed', { field: 'id' });
    await this.repo.delete(id);
    log.info('auth.user_deleted', { user_id: id, username: u.username, by: by.username });
  }

  revoke(jti: string, expiresAt: number): Promise<void> {
    return this.repo.revoke(jti, expiresAt);
  }

  isRevoked(jti: string): Promise<boolean> {
    return this.repo.isRevoked(jti);
  }

  pruneRevoked(): Promise<void> {
    return this.repo.pruneRevoked(this.clock.now());
  }
}

function toSessionUser(u: UserRow): SessionUser {
  return { id: u.id, username: u.username, role: u.role, credentialsAt: u.updated_at };
}
