import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../platform';

/**
 * The key that signs page sessions: SESSION_SECRET when set, else a random 32-byte key kept in
 * DATA_DIR/session.key (mode 0600), generated on the first start. The log says where, never what.
 * Changing it signs everyone out.
 */
export function resolveSessionKey(configured: string | undefined, dataDir: string, logger: Logger): Uint8Array {
  if (configured) return new Uint8Array(crypto.createHash('sha256').update(configured).digest());
  const file = path.join(dataDir, 'session.key');
  try {
    const existing = fs.readFileSync(file, 'utf8').trim();
    if (existing) {
      const key = Buffer.from(existing, 'base64url');
      if (key.length >= 32) return new Uint8Array(key);
      throw new Error(
        `${file}: the session key must be at least 32 bytes (base64url); remove the file to generate a new one`,
      );
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const key = crypto.randomBytes(32);
  fs.writeFileSync(file, key.toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
  logger.info('auth.session_key_generated', { file });
  return new Uint8Array(key);
}
