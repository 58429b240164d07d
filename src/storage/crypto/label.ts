import crypto from 'node:crypto';
import { CryptoError } from './errors';

/**
 * A version 2 object's label: what it takes to read the object and to put it back in a lost
 * catalog, kept with the bytes (as the AWS Encryption SDK keeps the encrypted data key with its
 * message). It sits between the 32-byte prefix and the first chunk, LABEL_BYTES long:
 *
 *   nonce (12) | u16 key id length | key id | u16 wrapped length | wrapped data key   (in the clear)
 *   sealed:    u32 facts length | facts (JSON) | zeros to the end                     (AES-256-GCM)
 *   tag (16)
 *
 * The clear part is what unwraps the data key without the database; it is the AAD of the sealed
 * part together with the prefix, so a changed key id, wrapped key, fact, zero or prefix byte fails
 * the tag like a changed chunk does (a changed wrapped key or key id already fails the unwrap).
 * The facts are encrypted under the data key, so names and hashes are not readable on disk. The
 * nonce is drawn at random on every sealing: a move re-seals the label under the same data key.
 */
export const LABEL_BYTES = 4096 - 32;
const NONCE = 12;
const TAG = 16;

/** The catalog facts of an object as written into its label. */
export interface ObjectFacts {
  dataset_id: number;
  name: string;
  /** Plaintext bytes and their SHA-256 (hex). */
  bytes: number;
  sha256: string;
  location: string;
  tier: string;
  /** When the content was uploaded (ms since the epoch); a move keeps it. */
  written_at: number;
  object_id: string;
}

/** The data key as wrapped when the label was sealed, with the KEK that wrapped it. */
export interface LabelKey {
  kekId: string;
  wrapped: Buffer;
}

export interface ObjectLabel extends LabelKey {
  facts: ObjectFacts;
}

function badLabel(why: string): CryptoError {
  return new CryptoError('BAD_HEADER', `the object's label is unreadable: ${why}`);
}

/** The label's bytes for the object whose prefix is `prefix` and data key is `dek`. */
export function sealLabel(prefix: Buffer, dek: Buffer, label: ObjectLabel): Buffer {
  const out = Buffer.alloc(LABEL_BYTES);
  crypto.randomBytes(NONCE).copy(out, 0);
  const kekId = Buffer.from(label.kekId, 'utf8');
  let at = NONCE;
  at = out.writeUInt16BE(kekId.length, at);
  at += kekId.copy(out, at);
  at = out.writeUInt16BE(label.wrapped.length, at);
  at += label.wrapped.copy(out, at);
  const facts = Buffer.from(JSON.stringify(label.facts), 'utf8');
  const plain = Buffer.alloc(LABEL_BYTES - TAG - at);
  if (facts.length + 4 > plain.length) throw new RangeError(`the object's facts take ${facts.length} bytes: too many`);
  plain.writeUInt32BE(facts.length, 0);
  facts.copy(plain, 4);
  const c = crypto.createCipheriv('aes-256-gcm', dek, out.subarray(0, NONCE));
  c.setAAD(Buffer.concat([prefix, out.subarray(0, at)]));
  c.update(plain).copy(out, at);
  c.final();
  c.getAuthTag().copy(out, LABEL_BYTES - TAG);
  return out;
}

/** The clear part: the wrapped data key and its KEK id, and where the sealed part starts. */
function clearPart(raw: Buffer): LabelKey & { end: number } {
  if (raw.length !== LABEL_BYTES) throw badLabel(`${raw.length} bytes, not ${LABEL_BYTES}`);
  let at = NONCE;
  const k = raw.readUInt16BE(at);
  at += 2;
  if (k === 0 || at + k + 2 > LABEL_BYTES - TAG) throw badLabel('its key id length is out of range');
  const kekId = raw.toString('utf8', at, at + k);
  at += k;
  const w = raw.readUInt16BE(at);
  at += 2;
  if (w === 0 || at + w + 4 > LABEL_BYTES - TAG) throw badLabel('its wrapped key length is out of range');
  const wrapped = Buffer.from(raw.subarray(at, at + w));
  return { kekId, wrapped, end: at + w };
}

/** What unwraps the data key: readable without any key, not yet authenticated. */
export function labelKey(raw: Buffer): LabelKey {
  const { kekId, wrapped } = clearPart(raw);
  return { kekId, wrapped };
}

/** The label, authenticated with the object's data key; 'TAMPERED' if any byte of it changed. */
export function openLabel(prefix: Buffer, raw: Buffer, dek: Buffer): ObjectLabel {
  const { kekId, wrapped, end } = clearPart(raw);
  const d = crypto.createDecipheriv('aes-256-gcm', dek, raw.subarray(0, NONCE));
  d.setAAD(Buffer.concat([prefix, raw.subarray(0, end)]));
  d.setAuthTag(raw.subarray(LABEL_BYTES - TAG));
  const plain = d.update(raw.subarray(end, LABEL_BYTES - TAG));
  try {
    d.final();
  } catch {
    throw new CryptoError('TAMPERED', "the object's label failed authentication: it was changed, or the key is wrong");
  }
  const n = plain.readUInt32BE(0);
  if (n + 4 > plain.length) throw badLabel('its facts length is out of range');
  return { kekId, wrapped, facts: JSON.parse(plain.toString('utf8', 4, 4 + n)) as ObjectFacts };
}
