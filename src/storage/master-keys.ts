import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../platform';
import {
  CryptoError,
  deriveKek,
  generateMasterKey,
  keyFingerprint,
  parseMasterKey,
  unwrapKey,
  wrapKey,
} from './crypto';

export interface KeySource {
  encryptionKey: string | undefined;
  encryptionKeyFile: string | undefined;
  /** The master a rotation re-wraps away from (ENCRYPTION_KEY_PREVIOUS / _FILE), while it runs. */
  previousKey?: string | undefined;
  previousKeyFile?: string | undefined;
  dataDir: string;
}

/** LOCATION:vN, and @fingerprint when a master other than the data directory's first derives it. */
const KEK_ID = /^(ONPREM|PRIVATE|PUBLIC):v(\d+)(?:@([0-9a-f]{16}))?$/;

export interface KekIdParts {
  location: string;
  version: number;
  /** Undefined: the first master's id, which names no fingerprint. */
  master: string | undefined;
}

export function parseKekId(kekId: string): KekIdParts {
  const m = KEK_ID.exec(kekId);
  if (!m) throw new CryptoError('WRONG_KEY', `unknown key id ${kekId}`);
  return { location: m[1]!, version: Number(m[2]), master: m[3] };
}

export function kekIdOf(location: string, version: number, master: string | null | undefined): string {
  return master ? `${location}:v${version}@${master}` : `${location}:v${version}`;
}

/**
 * The master key, and during a rotation the previous one, with the KEKs they derive. Wrapping
 * always uses the current master; unwrapping uses the master a key id names, or for an id that
 * names none (the first master's), each master in turn: AES-GCM tells the right one.
 */
export class MasterKeys {
  readonly current: Buffer;
  readonly currentFingerprint: string;
  readonly previous: Buffer | undefined;
  readonly previousFingerprint: string | undefined;
  private readonly keks = new Map<string, Buffer>();

  constructor(source: KeySource, logger: Logger) {
    this.current = loadCurrent(source, logger);
    this.currentFingerprint = keyFingerprint(this.current);
    const prev = source.previousKey ?? readKeyFile(source.previousKeyFile);
    this.previous = prev ? parseMasterKey(prev) : undefined;
    this.previousFingerprint = this.previous ? keyFingerprint(this.previous) : undefined;
    if (this.previousFingerprint === this.currentFingerprint) {
      throw new CryptoError(
        'BAD_KEY_MATERIAL',
        'ENCRYPTION_KEY_PREVIOUS is the same key as the master key: give the old key there, the new one as ENCRYPTION_KEY',
      );
    }
  }

  private masters(): Array<[string, Buffer]> {
    const all: Array<[string, Buffer]> = [[this.currentFingerprint, this.current]];
    if (this.previous) all.push([this.previousFingerprint!, this.previous]);
    return all;
  }

  private kek(fingerprint: string, master: Buffer, location: string, version: number): Buffer {
    const k = `${fingerprint}/${location}/${version}`;
    let kek = this.keks.get(k);
    if (!kek) {
      kek = deriveKek(master, location, version);
      this.keks.set(k, kek);
    }
    return kek;
  }

  /** Wraps under the current master; `kekId` must be one it derives. */
  wrap(kekId: string, dek: Buffer): Buffer {
    const { location, version } = parseKekId(kekId);
    return wrapKey(this.kek(this.currentFingerprint, this.current, location, version), kekId, dek);
  }

  unwrap(kekId: string, wrapped: Buffer): Buffer {
    const { location, version, master } = parseKekId(kekId);
    const candidates = this.masters().filter(([fp]) => master === undefined || fp === master);
    if (candidates.length === 0) {
      throw new CryptoError(
        'WRONG_KEY',
        `the data key is wrapped under the master key with fingerprint ${master}, which is not given ` +
          '(ENCRYPTION_KEY, or ENCRYPTION_KEY_PREVIOUS while a rotation runs)',
      );
    }
    let failure: unknown;
    for (const [fp, m] of candidates) {
      try {
        return unwrapKey(this.kek(fp, m, location, version), kekId, wrapped);
      } catch (err) {
        failure = err;
      }
    }
    throw failure;
  }

  /** The fingerprint of the master that unwraps `wrapped`, or undefined if none given does. */
  whichUnwraps(kekId: string, wrapped: Buffer): string | undefined {
    const { location, version, master } = parseKekId(kekId);
    for (const [fp, m] of this.masters()) {
      if (master !== undefined && fp !== master) continue;
      try {
        unwrapKey(this.kek(fp, m, location, version), kekId, wrapped);
        return fp;
      } catch {
        // the next master
      }
    }
    return undefined;
  }
}

function readKeyFile(file: string | undefined): string | undefined {
  return file ? fs.readFileSync(file, 'utf8').trim() : undefined;
}

function loadCurrent(source: KeySource, logger: Logger): Buffer {
  const { encryptionKey, encryptionKeyFile, dataDir } = source;
  if (encryptionKey) return parseMasterKey(encryptionKey);
  if (encryptionKeyFile) return parseMasterKey(readKeyFile(encryptionKeyFile)!);
  const file = path.join(dataDir, 'master.key');
  if (fs.existsSync(file)) return parseMasterKey(fs.readFileSync(file, 'utf8').trim());
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, generateMasterKey() + '\n', { mode: 0o600, flag: 'wx' });
  logger.warn('storage.master_key_generated', {
    file,
    hint: 'back this file up: without it the stored data cannot be decrypted',
  });
  return parseMasterKey(fs.readFileSync(file, 'utf8').trim());
}
