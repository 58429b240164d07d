import crypto from 'node:crypto';
import { CryptoError } from './errors';

const KEY_BYTES = 32;

/**
 * Master key material: 64 hex characters, or base64 / base64url of exactly 32 bytes, which
 * includes a Fernet key from the original demo (urlsafe base64, 44 characters with `=`).
 */
export function parseMasterKey(material: string): Buffer {
  const s = material.trim();
  if (/^[0-9a-fA-F]{64}$/.test(s)) return Buffer.from(s, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(s)) {
    const b = Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (b.length === KEY_BYTES) return b;
  }
  throw new CryptoError(
    'BAD_KEY_MATERIAL',
    'the encryption key must be 32 bytes given as 64 hex characters or as base64/base64url (a Fernet key works)',
  );
}

/** A new master key, written the way Fernet writes its keys. */
export function generateMasterKey(): string {
  return crypto.randomBytes(KEY_BYTES).toString('base64url') + '=';
}

/** A short, non-secret id of a master key: tells a wrong key apart from a corrupt file. */
export function keyFingerprint(master: Buffer): string {
  return crypto
    .createHmac('sha256', master)
    .update('data-in-motion/fingerprint')
    .digest()
    .subarray(0, 8)
    .toString('hex');
}

/** The key-encryption key of one location at one version; any version can be derived again. */
export function deriveKek(master: Buffer, location: string, version: number): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', master, 'data-in-motion/kek', `kek:${location}:v${version}`, KEY_BYTES));
}

export function newDataKey(): Buffer {
  return crypto.randomBytes(KEY_BYTES);
}

/** nonce(12) ‖ wrapped key(32) ‖ tag(16); the KEK id is bound as associated data. */
export function wrapKey(kek: Buffer, kekId: string, dek: Buffer): Buffer {
  const nonce = crypto.randomBytes(12);
  const c = crypto.createCipheriv('aes-256-gcm', kek, nonce);
  c.setAAD(Buffer.from(`dim-dek:${kekId}`));
  const body = Buffer.concat([c.update(dek), c.final()]);
  return Buffer.concat([nonce, body, c.getAuthTag()]);
}

export function unwrapKey(kek: Buffer, kekId: string, wrapped: Buffer): Buffer {
  if (wrapped.length !== 12 + KEY_BYTES + 16)
    throw new CryptoError('WRONG_KEY', `a wrapped data key is ${12 + KEY_BYTES + 16} bytes, got ${wrapped.length}`);
  try {
    const d = crypto.createDecipheriv('aes-256-gcm', kek, wrapped.subarray(0, 12));
    d.setAAD(Buffer.from(`dim-dek:${kekId}`));
    d.setAuthTag(wrapped.subarray(12 + KEY_BYTES));
    return Buffer.concat([d.update(wrapped.subarray(12, 12 + KEY_BYTES)), d.final()]);
  } catch {
    throw new CryptoError(
      'WRONG_KEY',
      `the data key does not unwrap with key ${kekId}: wrong master key or a corrupt key record`,
    );
  }
}
