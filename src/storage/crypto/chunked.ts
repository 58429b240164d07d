import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { CryptoError } from './errors';

/**
 * Chunked AES-256-GCM, so a file of any size streams in constant memory.
 *
 *   header (32 bytes): "DIMENC01" | version u8 = 1 | 3 reserved | chunk size u32 BE | file id (16)
 *   chunk i:           ciphertext (chunk size bytes; the final chunk may be shorter, even empty) | tag (16)
 *
 * Nonce of chunk i = file id[0..4] ‖ i (u64 BE): unique under the file's own data key.
 * AAD of chunk i = header ‖ i (u64 BE) ‖ final flag. So a changed byte anywhere, a chunk moved
 * or taken from another file, a dropped tail (the last chunk left is not flagged final) or
 * bytes after the final chunk all fail authentication. No chunk's plaintext is emitted before
 * its tag has verified.
 */
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;
export const MIN_CHUNK_SIZE = 4 * 1024;
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
export const HEADER_BYTES = 32;
const TAG = 16;
const MAGIC = Buffer.from('DIMENC01');
const VERSION = 1;

function makeHeader(chunkSize: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(h, 0);
  h.writeUInt8(VERSION, 8);
  h.writeUInt32BE(chunkSize, 12);
  crypto.randomBytes(16).copy(h, 16);
  return h;
}

function parseHeader(h: Buffer): number {
  if (h.length < HEADER_BYTES || !h.subarray(0, 8).equals(MAGIC)) throw new CryptoError('BAD_HEADER', 'not an encrypted object (bad magic bytes)');
  if (h.readUInt8(8) !== VERSION) throw new CryptoError('BAD_HEADER', `unsupported encryption format version ${h.readUInt8(8)}`);
  const size = h.readUInt32BE(12);
  if (size < MIN_CHUNK_SIZE || size > MAX_CHUNK_SIZE) throw new CryptoError('BAD_HEADER', `implausible chunk size ${size} in the header`);
  return size;
}

function nonceOf(header: Buffer, index: number): Buffer {
  const n = Buffer.alloc(12);
  header.copy(n, 0, 16, 20);
  n.writeBigUInt64BE(BigInt(index), 4);
  return n;
}

function aadOf(header: Buffer, index: number, final: boolean): Buffer {
  const a = Buffer.alloc(HEADER_BYTES + 9);
  header.copy(a, 0);
  a.writeBigUInt64BE(BigInt(index), HEADER_BYTES);
  a.writeUInt8(final ? 1 : 0, HEADER_BYTES + 8);
  return a;
}

function sealChunk(dek: Buffer, header: Buffer, index: number, final: boolean, plain: Buffer): Buffer[] {
  const c = crypto.createCipheriv('aes-256-gcm', dek, nonceOf(header, index));
  c.setAAD(aadOf(header, index, final));
  const body = c.update(plain);
  c.final();
  return [body, c.getAuthTag()];
}

function openChunk(dek: Buffer, header: Buffer, index: number, final: boolean, sealed: Buffer): Buffer {
  if (sealed.length < TAG) throw new CryptoError('TRUNCATED', `chunk ${index} is cut short: the file is truncated`);
  const d = crypto.createDecipheriv('aes-256-gcm', dek, nonceOf(header, index));
  d.setAAD(aadOf(header, index, final));
  d.setAuthTag(sealed.subarray(sealed.length - TAG));
  const out = d.update(sealed.subarray(0, sealed.length - TAG));
  try {
    d.final();
  } catch {
    throw new CryptoError(
      'TAMPERED',
      `chunk ${index} failed authentication: the file was changed, truncated or reordered, or the key is wrong`,
    );
  }
  return out;
}

export function checkChunkSize(chunkSize: number): number {
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new RangeError(`chunk size must be between ${MIN_CHUNK_SIZE} and ${MAX_CHUNK_SIZE} bytes`);
  }
  return chunkSize;
}

/** Bytes on disk for a plaintext of `size` bytes. */
export function encryptedSize(size: number, chunkSize: number): number {
  const chunks = size === 0 ? 1 : Math.ceil(size / chunkSize);
  return HEADER_BYTES + size + chunks * TAG;
}

/** The plaintext size a file of `fileSize` bytes holds; 'TRUNCATED' if no whole file has that size. */
export function plaintextSize(fileSize: number, chunkSize: number): number {
  const body = fileSize - HEADER_BYTES;
  if (body < TAG) throw new CryptoError('TRUNCATED', 'the file is truncated (no complete final chunk)');
  const chunks = Math.ceil(body / (chunkSize + TAG));
  const size = body - chunks * TAG;
  if (size < 0 || encryptedSize(size, chunkSize) !== fileSize) throw new CryptoError('TRUNCATED', 'the file size does not match its chunk layout: it is truncated');
  return size;
}

/** Plaintext in, encrypted object out. Holds at most one chunk. */
export function createEncryptStream(dek: Buffer, opts: { chunkSize?: number } = {}): Transform {
  const chunkSize = checkChunkSize(opts.chunkSize ?? DEFAULT_CHUNK_SIZE);
  const header = makeHeader(chunkSize);
  let buf = Buffer.allocUnsafe(chunkSize);
  let filled = 0;
  let index = 0;
  let started = false;
  return new Transform({
    transform(data: Buffer, _enc, cb: TransformCallback) {
      if (!started) {
        started = true;
        this.push(header);
      }
      let pos = 0;
      while (pos < data.length) {
        if (filled === chunkSize) {
          // More data follows a full chunk, so that chunk is not the final one.
          for (const part of sealChunk(dek, header, index++, false, buf)) this.push(part);
          buf = Buffer.allocUnsafe(chunkSize);
          filled = 0;
        }
        const n = Math.min(chunkSize - filled, data.length - pos);
        data.copy(buf, filled, pos, pos + n);
        filled += n;
        pos += n;
      }
      cb();
    },
    flush(cb: TransformCallback) {
      if (!started) this.push(header);
      for (const part of sealChunk(dek, header, index++, true, buf.subarray(0, filled))) this.push(part);
      cb();
    },
  });
}

/** An encrypted object in, verified plaintext out. Holds at most one chunk. */
export function createDecryptStream(dek: Buffer): Transform {
  let header: Buffer | undefined;
  let headerParts: Buffer[] = [];
  let headerLen = 0;
  let sealedSize = 0;
  let buf: Buffer = Buffer.alloc(0);
  let filled = 0;
  let index = 0;
  return new Transform({
    transform(data: Buffer, _enc, cb: TransformCallback) {
      try {
        let pos = 0;
        if (!header) {
          const need = HEADER_BYTES - headerLen;
          headerParts.push(data.subarray(0, need));
          headerLen += Math.min(need, data.length);
          pos = Math.min(need, data.length);
          if (headerLen < HEADER_BYTES) return cb();
          header = Buffer.concat(headerParts);
          headerParts = [];
          sealedSize = parseHeader(header) + TAG;
          buf = Buffer.allocUnsafe(sealedSize);
        }
        while (pos < data.length) {
          if (filled === sealedSize) {
            this.push(openChunk(dek, header, index++, false, buf));
            filled = 0;
          }
          const n = Math.min(sealedSize - filled, data.length - pos);
          data.copy(buf, filled, pos, pos + n);
          filled += n;
          pos += n;
        }
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
    flush(cb: TransformCallback) {
      try {
        if (!header) throw new CryptoError('TRUNCATED', 'the file is truncated (incomplete header)');
        if (filled < TAG) throw new CryptoError('TRUNCATED', 'the file is truncated (no complete final chunk)');
        this.push(openChunk(dek, header, index, true, buf.subarray(0, filled)));
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
  });
}

async function readHeader(fh: fsp.FileHandle): Promise<{ header: Buffer; chunkSize: number }> {
  const header = Buffer.alloc(HEADER_BYTES);
  const { bytesRead } = await fh.read(header, 0, HEADER_BYTES, 0);
  if (bytesRead < HEADER_BYTES) throw new CryptoError('TRUNCATED', 'the file is truncated (incomplete header)');
  return { header, chunkSize: parseHeader(header) };
}

export async function plaintextSizeOfFile(file: string): Promise<number> {
  const fh = await fsp.open(file, 'r');
  try {
    const { chunkSize } = await readHeader(fh);
    return plaintextSize((await fh.stat()).size, chunkSize);
  } finally {
    await fh.close();
  }
}

/**
 * Plaintext bytes [start, endInclusive] of an encrypted file: only the chunks that cover the
 * range are read, each verified (its final flag known from the file's size) before its slice
 * is emitted.
 */
export async function createRangeDecryptStream(file: string, dek: Buffer, start: number, endInclusive: number): Promise<Readable> {
  const fh = await fsp.open(file, 'r');
  try {
    const { header, chunkSize } = await readHeader(fh);
    const size = plaintextSize((await fh.stat()).size, chunkSize);
    if (start < 0 || endInclusive >= size || endInclusive < start) throw new RangeError(`range ${start}-${endInclusive} is outside 0-${size - 1}`);
    const last = size === 0 ? 0 : Math.ceil(size / chunkSize) - 1;
    const first = Math.floor(start / chunkSize);
    const lastNeeded = Math.floor(endInclusive / chunkSize);
    async function* chunks(): AsyncGenerator<Buffer> {
      const sealed = Buffer.allocUnsafe(chunkSize + TAG);
      for (let i = first; i <= lastNeeded; i++) {
        const len = Math.min(chunkSize, size - i * chunkSize) + TAG;
        const { bytesRead } = await fh.read(sealed, 0, len, HEADER_BYTES + i * (chunkSize + TAG));
        if (bytesRead !== len) throw new CryptoError('TRUNCATED', `chunk ${i} is cut short: the file is truncated`);
        const plain = openChunk(dek, header, i, i === last, sealed.subarray(0, len));
        const from = i === first ? start - i * chunkSize : 0;
        const to = i === lastNeeded ? endInclusive - i * chunkSize + 1 : plain.length;
        yield plain.subarray(from, to);
      }
    }
    const stream = Readable.from(chunks(), { objectMode: false });
    // Closed however the stream ends: read to the end, failed, or destroyed before its first read.
    stream.once('close', () => void fh.close().catch(() => undefined));
    return stream;
  } catch (err) {
    await fh.close();
    throw err;
  }
}
