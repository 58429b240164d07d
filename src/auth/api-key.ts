import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { RequestHandler } from 'express';
import type { Logger } from '../platform';

/**
 * The bootstrap key for write routes: API_KEY from the environment, or on a first start
 * without one, a generated key kept in the data directory (mode 0600); the log says where,
 * never what.
 */
export function resolveApiKey(configured: string | undefined, dataDir: string, logger: Logger): string {
  if (configured) return configured;
  const file = path.join(dataDir, 'api-key');
  try {
    const existing = fs.readFileSync(file, 'utf8').trim();
    if (existing) {
      logger.info('auth.api_key_loaded', { file });
      return existing;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const key = crypto.randomBytes(24).toString('base64url');
  fs.writeFileSync(file, key + '\n', { mode: 0o600, flag: 'wx' });
  logger.warn('auth.api_key_generated', {
    file,
    hint: 'no API_KEY was set: write routes take the key stored in this file',
  });
  return key;
}

function presented(header: string | undefined, authorization: string | undefined): string | undefined {
  if (header) return header;
  const m = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  return m?.[1]?.trim();
}

const sha256 = (s: string): Buffer => crypto.createHash('sha256').update(s).digest();

export class ApiKeyAuth {
  private readonly keyHash: Buffer;

  constructor(key: string) {
    this.keyHash = sha256(key);
  }

  /** SHA-256 of the key: tokens minted from it are bound to it (see ApiTokens), never the key itself. */
  get digest(): Buffer {
    return this.keyHash;
  }

  /** Compares digests in constant time, so neither the key nor its length leaks through timing. */
  valid(header: string | undefined, authorization: string | undefined): boolean {
    const p = presented(header, authorization);
    return p !== undefined && crypto.timingSafeEqual(sha256(p), this.keyHash);
  }

  /** Write routes: `x-api-key: KEY` (the original demo's header) or `Authorization: Bearer KEY`. */
  readonly require: RequestHandler = (req, res, next) => {
    if (this.valid(req.get('x-api-key'), req.get('authorization'))) return next();
    res.status(401).json({ detail: 'Invalid API key' });
  };
}
