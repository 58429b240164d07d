import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { CryptoError, chunkTampered, chunkTruncated } from './errors';
import { LABEL_BYTES, openLabel } from './label';

/**
 * Chunked AES-256-GCM, so a file of any size streams in constant memory.
 *
 *   prefix (32 bytes): "DIMENC01" | version u8 | 3 reserved | chunk size u32 BE | file id (16)
 *   version 1:         prefix, then the chunks
 *   version 2:         prefix, the object's label (LABEL_BYTES, label.ts: its wrapped data key and
 *                      catalog facts, with a tag of its own), then the chunks
 *   chunk i:           ciphertext (chunk size bytes; the final chunk may be shorter, even empty) | tag (16)
 *
 * Nonce of chunk i = file id[0..4] ‖ i (u64 BE): unique under the file's own data key.
 * AAD of chunk i = prefix ‖ i (u64 BE) ‖ final flag. So a changed byte anywhere, a chunk moved
 * or taken from another file, a dropped tail (the last chunk left is not flagged final) or
 * bytes after the final chunk all fail authentication. No chunk's plaintext is emitted before
 * its tag has verified. The label is not in the chunks' AAD, so a move can re-label its copy (the
 * new wrapping, the new placement) without re-encrypting; it binds itself to the prefix instead.
 */
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;
export const MIN_CHUNK_SIZE = 4 * 1024;
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
/** The prefix every version starts with (and, in version 1, the whole header). */
export const HEADER_BYTES = 32;
const TAG = 16;
const MAGIC = Buffer.from('DIMENC01');
export type FormatVersion = 1 | 2;

export function makeHeader(chunkSize: number, version: FormatVersion = 1): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(h, 0);
  h.writeUInt8(version, 8);
  h.writeUInt32BE(chunkSize, 12);
  crypto.randomBytes(16).copy(h, 16);
  return h;
}

/** Where a version's first chunk starts. */
export function dataStartOf(version: FormatVersion): number {
  return version === 2 ? HEADER_BYTES + LABEL_BYTES : HEADER_BYTES;
}

export interface ParsedPrefix {
  version: FormatVersion;
  chunkSize: number;
  dataStart: number;
}

export function parseHeader(h: Buffer): ParsedPrefix {
  if (h.length < HEADER_BYTES || !h.subarray(0, 8).equals(MAGIC))
    throw new CryptoError('BAD_HEADER', 'not an encrypted object (bad magic bytes)');
  const version = h.readUInt8(8);
  if (version !== 1 && version !== 2)
    throw new CryptoError('BAD_HEADER', `unsupported encryption format version ${version}`);
  const size = h.readUInt32BE(12);
  if (size < MIN_CHUNK_SIZE || size > MAX_CHUNK_SIZE)
    throw new CryptoError('BAD_HEADER', `implausible chunk size ${size} in the header`);
  return { version, chunkSize: size, dataStart: dataStartOf(version) };
}

export function nonceOf(header: Buffer, index: number): Buffer {
  const n = Buffer.alloc(12);
  header.copy(n, 0, 16, 20);
  n.writeBigUInt64BE(BigInt(index), 4);
  return n;
}

export function aadOf(header: Buffer, index: number, final: boolean): Buffer {
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

export function openChunk(dek: Buffer, header: Buffer, index: number, final: boolean, sealed: Buffer): Buffer {
  if (sealed.length < TAG) throw chunkTruncated(index);
  const d = crypto.createDecipheriv('aes-256-gcm', dek, nonceOf(header, index));
  d.setAAD(aadOf(header, index, final));
  d.setAuthTag(sealed.subarray(sealed.length - TAG));
  const out = d.update(sealed.subarray(0, sealed.length - TAG));
  try {
    d.final();
  } catch {
    throw chunkTampered(index);
  }
  return out;
}

export function checkChunkSize(chunkSize: number): number {
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new RangeError(`chunk size must be between ${MIN_CHUNK_SIZE} and ${MAX_CHUNK_SIZE} bytes`);
  }
  return chunkSize;
}

/** Bytes on disk for a plaintext of `size` bytes (`dataStart`: the version's header length). */
export function encryptedSize(size: number, chunkSize: number, dataStart = HEADER_BYTES): number {
  const chunks = size === 0 ? 1 : Math.ceil(size / chunkSize);
  return dataStart + size + chunks * TAG;
}

/** The plaintext size a file of `fileSize` bytes holds; 'TRUNCATED' if no whole file has that size. */
export function plaintextSize(fileSize: number, chunkSize: number, dataStart = HEADER_BYTES): number {
  const body = fileSize - dataStart;
  if (body < TAG) throw new CryptoError('TRUNCATED', 'the file is truncated (no complete final chunk)');
  const chunks = Math.ceil(body / (chunkSize + TAG));
  const size = body - chunks * TAG;
  if (size < 0 || encryptedSize(size, chunkSize, dataStart) !== fileSize)
    throw new CryptoError('TRUNCATED', 'the file size does not match its chunk layout: it is truncated');
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

/** An encrypted object in (either version), verified plaintext out. Holds at most one chunk. */
export function createDecryptStream(dek: Buffer): Transform {
  let header: Buffer | undefined;
  let headerParts: Buffer[] = [];
  let headerLen = 0;
  let need = HEADER_BYTES;
  let sealedSize = 0;
  let buf: Buffer = Buffer.alloc(0);
  let filled = 0;
  let index = 0;
  return new Transform({
    transform(data: Buffer, _enc, cb: TransformCallback) {
      try {
        let pos = 0;
        while (!header) {
          const take = Math.min(need - headerLen, data.length - pos);
          headerParts.push(data.subarray(pos, pos + take));
          headerLen += take;
          pos += take;
          if (headerLen < need) return cb();
          const whole = Buffer.concat(headerParts);
          const parsed = parseHeader(whole);
          if (headerLen < parsed.dataStart) {
            need = parsed.dataStart;
            continue;
          }
          header = whole.subarray(0, HEADER_BYTES);
          if (parsed.version === 2) openLabel(header, whole.subarray(HEADER_BYTES), dek);
          headerParts = [];
          sealedSize = parsed.chunkSize + TAG;
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

/** The prefix (what the chunks' nonces and AAD use), and for version 2 the label's bytes. */
export interface ReadHeader extends ParsedPrefix {
  header: Buffer;
  label: Buffer | undefined;
}

export async function readHeader(fh: fsp.FileHandle): Promise<ReadHeader> {
  const header = Buffer.alloc(HEADER_BYTES);
  const { bytesRead } = await fh.read(header, 0, HEADER_BYTES, 0);
  if (bytesRead < HEADER_BYTES) throw new CryptoError('TRUNCATED', 'the file is truncated (incomplete header)');
  const parsed = parseHeader(header);
  if (parsed.version === 1) return { ...parsed, header, label: undefined };
  const label = Buffer.alloc(LABEL_BYTES);
  const more = await fh.read(label, 0, LABEL_BYTES, HEADER_BYTES);
  if (more.bytesRead < LABEL_BYTES) throw new CryptoError('TRUNCATED', 'the file is truncated (incomplete label)');
  return { ...parsed, header, label };
}

export async function plaintextSizeOfFile(file: string): Promise<number> {
  const fh = await fsp.open(file, 'r');
  try {
    const { chunkSize, dataStart } = await readHeader(fh);
    return plaintextSize((await fh.stat()).size, chunkSize, dataStart);
  } finally {
    await fh.close();
  }
}

/** An encrypted object opened for reading: its header, chunk size and plaintext size. */
export interface EncryptedFile extends ReadHeader {
  fh: fsp.FileHandle;
  /** The plaintext size the file's length implies ('TRUNCATED' if no whole file has that length). */
  size: number;
}

/**
 * The header with a version 2 label authenticated. A label re-sealed in place (a master key
 * rotation re-wraps the data key it holds) can be read half-written, a torn read of one page:
 * it is read once more before it counts as tampered.
 */
async function readLabelled(fh: fsp.FileHandle, dek: Buffer): Promise<ReadHeader> {
  const h = await readHeader(fh);
  if (!h.label) return h;
  try {
    openLabel(h.header, h.label, dek);
    return h;
  } catch (err) {
    if (!(err instanceof CryptoError && err.code === 'TAMPERED')) throw err;
  }
  await new Promise((r) => setTimeout(r, 5));
  const again = await readHeader(fh);
  if (again.label) openLabel(again.header, again.label, dek);
  return again;
}

/** Opens the file and checks its framing; with `dek`, a version 2 label is authenticated too. */
export async function openEncryptedFile(file: string, dek?: Buffer): Promise<EncryptedFile> {
  const fh = await fsp.open(file, 'r');
  try {
    const h = dek ? await readLabelled(fh, dek) : await readHeader(fh);
    return { fh, ...h, size: plaintextSize((await fh.stat()).size, h.chunkSize, h.dataStart) };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/**
 * Which chunks a read of plaintext bytes [start, endInclusive] covers. The final chunk is known
 * from the file's size, so a file cut at a chunk boundary fails authentication (its last chunk
 * left is not flagged final). A whole read of an empty object still covers its one empty chunk,
 * so that chunk is verified too.
 */
export class ReadPlan {
  readonly first: number;
  readonly lastNeeded: number;
  /** The file's final chunk: opened with the final flag. */
  readonly last: number;
  readonly start: number;
  readonly endInclusive: number;

  constructor(
    private readonly chunkSize: number,
    private readonly size: number,
    range?: { start: number; end: number },
    private readonly dataStart = HEADER_BYTES,
  ) {
    this.start = range?.start ?? 0;
    this.endInclusive = range?.end ?? size - 1;
    if (range && (this.start < 0 || this.endInclusive >= size || this.endInclusive < this.start)) {
      throw new RangeError(`range ${this.start}-${this.endInclusive} is outside 0-${size - 1}`);
    }
    this.last = size === 0 ? 0 : Math.ceil(size / chunkSize) - 1;
    this.first = Math.floor(this.start / chunkSize);
    this.lastNeeded = size === 0 ? 0 : Math.floor(this.endInclusive / chunkSize);
  }

  get length(): number {
    return this.endInclusive - this.start + 1;
  }

  /** Plaintext bytes in chunk i. */
  plainLength(i: number): number {
    return Math.min(this.chunkSize, this.size - i * this.chunkSize);
  }

  /** Sealed bytes of chunk i, and where they are in the file. */
  sealedLength(i: number): number {
    return this.plainLength(i) + TAG;
  }

  sealedPosition(i: number): number {
    return this.dataStart + i * (this.chunkSize + TAG);
  }

  /** The part [from, to) of chunk i's plaintext that the read returns. */
  slice(i: number): { from: number; to: number } {
    const from = i === this.first ? this.start - i * this.chunkSize : 0;
    const to = i === this.lastNeeded ? this.endInclusive - i * this.chunkSize + 1 : this.plainLength(i);
    return { from, to };
  }
}

/**
 * Plaintext bytes [start, endInclusive] of an encrypted file, as a stream decrypted on the
 * calling thread: only the chunks that cover the range are read, each verified (its final flag
 * known from the file's size) before its slice is emitted. (HTTP downloads use DecryptedFile,
 * off-thread.ts, which keeps the cipher and its allocations off the main thread.)
 */
export async function createRangeDecryptStream(
  file: string,
  dek: Buffer,
  start: number,
  endInclusive: number,
): Promise<Readable> {
  const f = await openEncryptedFile(file, dek);
  try {
    const plan = new ReadPlan(f.chunkSize, f.size, { start, end: endInclusive }, f.dataStart);
    async function* chunks(): AsyncGenerator<Buffer> {
      const sealed = Buffer.allocUnsafe(f.chunkSize + TAG);
      for (let i = plan.first; i <= plan.lastNeeded; i++) {
        const len = plan.sealedLength(i);
        const { bytesRead } = await f.fh.read(sealed, 0, len, plan.sealedPosition(i));
        if (bytesRead !== len) throw chunkTruncated(i);
        const plain = openChunk(dek, f.header, i, i === plan.last, sealed.subarray(0, len));
        const { from, to } = plan.slice(i);
        yield plain.subarray(from, to);
      }
    }
    const stream = Readable.from(chunks(), { objectMode: false });
    // Closed however the stream ends: read to the end, failed, or destroyed before its first read.
    stream.once('close', () => void f.fh.close().catch(() => undefined));
    return stream;
  } catch (err) {
    await f.fh.close();
    throw err;
  }
}
