import crypto from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(crypto.scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: crypto.ScryptOptions,
) => Promise<Buffer>;

/** scrypt cost: N = 2^15, r = 8, p = 1 (about 32 MiB and a few tens of ms per hash). */
const PARAMS = { N: 1 << 15, r: 8, p: 1 } as const;
const KEY_LEN = 32;
const SALT_LEN = 16;
// 128 * N * r bytes are needed; Node's default cap (32 MiB) is exactly that, so leave headroom.
const MAXMEM = 64 * 1024 * 1024;

/**
 * Password hashes as `scrypt$N$r$p$salt$hash` (base64url), a fresh random salt per user, so the
 * parameters can be raised later without invalidating stored hashes.
 */
export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(SALT_LEN);
  const key = await scrypt(password, salt, KEY_LEN, { ...PARAMS, maxmem: MAXMEM });
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Constant-time comparison of the derived key; false for any malformed stored hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (!Number.isSafeInteger(N) || !Number.isSafeInteger(r) || !Number.isSafeInteger(p) || expected.length === 0)
    return false;
  const key = await scrypt(password, salt, expected.length, { N, r, p, maxmem: MAXMEM });
  return crypto.timingSafeEqual(key, expected);
}

/** A password a person can type once: 20 characters from an unambiguous alphabet (~115 bits). */
export function generatePassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const out: string[] = [];
  while (out.length < 20) {
    const b = crypto.randomBytes(1)[0]!;
    // Rejection sampling keeps every character equally likely.
    if (b < 256 - (256 % alphabet.length)) out.push(alphabet[b % alphabet.length]!);
  }
  return out.join('');
}
