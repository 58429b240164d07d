import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import fsp from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CryptoError,
  DecryptedFile,
  FileSealer,
  createDecryptStream,
  createEncryptStream,
  createRangeDecryptStream,
  deriveKek,
  encryptedSize,
  generateMasterKey,
  keyFingerprint,
  newDataKey,
  parseMasterKey,
  plaintextSizeOfFile,
  unwrapKey,
  wrapKey,
} from '../../../src/storage/crypto';
import { tempDir, waitFor } from '../../support/harness';

const CHUNK = 4096;
const HEADER = 32;
const SEALED = CHUNK + 16;

/** Feeds `data` in pieces of `piece` bytes, as a network or disk would. */
function source(data: Buffer, piece: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += piece) parts.push(data.subarray(i, i + piece));
  return Readable.from(parts, { objectMode: false });
}

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) out.push(c);
  return Buffer.concat(out);
}

async function encrypt(dek: Buffer, data: Buffer, piece = 1000, chunkSize = CHUNK): Promise<Buffer> {
  return collect(source(data, Math.max(1, piece)).pipe(createEncryptStream(dek, { chunkSize })));
}

/** Decrypts, returning what was emitted before any failure and the failure. */
async function decrypt(dek: Buffer, sealed: Buffer, piece = 777): Promise<{ out: Buffer; error?: CryptoError }> {
  const out: Buffer[] = [];
  try {
    await pipeline(source(sealed, piece), createDecryptStream(dek), async (s: AsyncIterable<Buffer>) => {
      for await (const c of s) out.push(c);
    });
    return { out: Buffer.concat(out) };
  } catch (err) {
    return { out: Buffer.concat(out), error: err as CryptoError };
  }
}

describe('chunked AES-256-GCM', () => {
  const dek = newDataKey();

  test.each([0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * 1024 * 1024 + 3])(
    'when %i bytes round-trip, then they come back identical',
    async (size) => {
      const data = crypto.randomBytes(size);
      for (const piece of [1, 7, CHUNK + 5]) {
        if (size > 100_000 && piece < 100) continue;
        const sealed = await encrypt(dek, data, piece);
        expect(sealed.length).toBe(encryptedSize(size, CHUNK));
        const { out, error } = await decrypt(dek, sealed, piece);
        expect(error).toBeUndefined();
        expect(out.equals(data)).toBe(true);
      }
    },
  );

  test('when the default chunk size is used on ~5 MB, then it round-trips', async () => {
    const data = crypto.randomBytes(5 * 1024 * 1024 + 11);
    const sealed = await collect(source(data, 65536).pipe(createEncryptStream(dek)));
    const { out, error } = await decrypt(dek, sealed, 65536);
    expect(error).toBeUndefined();
    expect(out.equals(data)).toBe(true);
  });

  describe('when the file is damaged', () => {
    const data = crypto.randomBytes(4 * CHUNK + 100);
    let sealed: Buffer;
    beforeAll(async () => {
      sealed = await encrypt(dek, data);
    });
    const flip = (b: Buffer, at: number): Buffer => {
      const c = Buffer.from(b);
      c[at] = c[at]! ^ 0x01;
      return c;
    };
    /** Whatever came out before the failure is whole, verified chunks of the real plaintext. */
    const onlyVerified = (out: Buffer): void => {
      expect(out.length % CHUNK).toBe(0);
      expect(out.equals(data.subarray(0, out.length))).toBe(true);
    };

    test.each([
      ['a byte of chunk 2', () => flip(sealed, HEADER + 2 * SEALED + 10), 'TAMPERED'],
      ['a byte of a tag', () => flip(sealed, HEADER + SEALED - 1), 'TAMPERED'],
      ['the file id in the header', () => flip(sealed, 20), 'TAMPERED'],
      ['the magic bytes', () => flip(sealed, 0), 'BAD_HEADER'],
      ['cut mid-chunk', () => sealed.subarray(0, HEADER + 2 * SEALED + 50), 'TAMPERED'],
      ['cut at a chunk boundary', () => sealed.subarray(0, HEADER + 3 * SEALED), 'TAMPERED'],
      ['cut to the header', () => sealed.subarray(0, HEADER), 'TRUNCATED'],
      ['cut inside the header', () => sealed.subarray(0, 10), 'TRUNCATED'],
      [
        'two chunks swapped',
        () =>
          Buffer.concat([
            sealed.subarray(0, HEADER),
            sealed.subarray(HEADER + SEALED, HEADER + 2 * SEALED),
            sealed.subarray(HEADER, HEADER + SEALED),
            sealed.subarray(HEADER + 2 * SEALED),
          ]),
        'TAMPERED',
      ],
      ['garbage after the final chunk', () => Buffer.concat([sealed, Buffer.from('extra')]), 'TAMPERED'],
    ] as Array<[string, () => Buffer, string]>)(
      'when %s, then the read fails and emits no unverified byte',
      async (_what, damage, code) => {
        const { out, error } = await decrypt(dek, damage());
        expect(error).toBeInstanceOf(CryptoError);
        expect(error!.code).toBe(code);
        onlyVerified(out);
      },
    );

    test('when a chunk comes from another file under the same key, then the read fails', async () => {
      const other = await encrypt(dek, crypto.randomBytes(data.length));
      const spliced = Buffer.concat([
        sealed.subarray(0, HEADER + SEALED),
        other.subarray(HEADER + SEALED, HEADER + 2 * SEALED),
        sealed.subarray(HEADER + 2 * SEALED),
      ]);
      const { out, error } = await decrypt(dek, spliced);
      expect(error?.code).toBe('TAMPERED');
      onlyVerified(out);
    });

    test('when the key is wrong, then the read fails with a clear error and no output', async () => {
      const { out, error } = await decrypt(newDataKey(), sealed);
      expect(error?.code).toBe('TAMPERED');
      expect(error?.message).toMatch(/failed authentication/);
      expect(out.length).toBe(0);
    });
  });

  describe('range reads from a file', () => {
    const data = crypto.randomBytes(5 * CHUNK + 321);
    let file: string;
    beforeAll(async () => {
      file = path.join(tempDir(), 'obj.enc');
      fs.writeFileSync(file, await encrypt(dek, data));
    });

    test.each([
      [0, 0],
      [data.length - 1, data.length - 1],
      [CHUNK - 10, CHUNK + 10],
      [0, data.length - 1],
      [100, 200],
      [2 * CHUNK, 3 * CHUNK - 1],
    ])('when bytes %i-%i are read, then they equal the plaintext slice', async (start, end) => {
      const out = await collect(await createRangeDecryptStream(file, dek, start, end));
      expect(out.equals(data.subarray(start, end + 1))).toBe(true);
    });

    test('when the file size tells the plaintext size, then it is exact; a truncated file is refused', async () => {
      expect(await plaintextSizeOfFile(file)).toBe(data.length);
      const cut = path.join(tempDir(), 'cut.enc');
      fs.writeFileSync(cut, fs.readFileSync(file).subarray(0, HEADER + 2 * SEALED + 7));
      await expect(plaintextSizeOfFile(cut)).rejects.toMatchObject({ code: 'TRUNCATED' });
      await expect(createRangeDecryptStream(cut, dek, 0, 10)).rejects.toMatchObject({ code: 'TRUNCATED' });
    });

    test('when a chunk inside the range is tampered, then the range read fails', async () => {
      const bad = path.join(tempDir(), 'bad.enc');
      const b = fs.readFileSync(file);
      b[HEADER + SEALED + 5]! ^= 0xff;
      fs.writeFileSync(bad, b);
      await expect(collect(await createRangeDecryptStream(bad, dek, CHUNK + 1, CHUNK + 2))).rejects.toMatchObject({
        code: 'TAMPERED',
      });
      // Chunks outside the range are not read, so a range before the damage still serves.
      expect((await collect(await createRangeDecryptStream(bad, dek, 0, 9))).equals(data.subarray(0, 10))).toBe(true);
    });
  });
});

describe('chunked AES-256-GCM on the worker thread (the HTTP upload and download path)', () => {
  const dek = newDataKey();
  const dir = tempDir();
  let n = 0;

  /** Seals `data`, fed in pieces of `piece` bytes, into a new file with FileSealer; checks the SHA-256 the worker computed. */
  async function sealToFile(key: Buffer, data: Buffer, piece: number, chunkSize = CHUNK): Promise<string> {
    const file = path.join(dir, `obj-${++n}.enc`);
    const fh = await fsp.open(file, 'wx');
    try {
      const sealer = FileSealer.create(fh.fd, key, chunkSize, 1);
      for (let i = 0; i < data.length; i += piece) {
        if (!sealer.write(data.subarray(i, i + piece))) await sealer.room();
      }
      expect(await sealer.end()).toBe(crypto.createHash('sha256').update(data).digest('hex'));
    } finally {
      await fh.close();
    }
    return file;
  }

  /** Sends through DecryptedFile into a sink that copies (the views are ring memory, reused). */
  async function send(
    file: string,
    key: Buffer,
    range?: { start: number; end: number },
  ): Promise<{ out: Buffer; error?: CryptoError }> {
    const parts: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        parts.push(Buffer.from(chunk));
        cb();
      },
    });
    try {
      const body = await DecryptedFile.open(file, key, range);
      await body.sendTo(sink);
      return { out: Buffer.concat(parts) };
    } catch (err) {
      return { out: Buffer.concat(parts), error: err as CryptoError };
    }
  }

  test.each([0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 5 * 1024 * 1024 + 7])(
    'when %i bytes are sealed and opened off-thread, then they round-trip and match the in-thread format',
    async (size) => {
      const data = crypto.randomBytes(size);
      // Pieces of 6 MiB are larger than the worker's ring, so the sealer has to wait for room mid-piece.
      for (const piece of [7, CHUNK + 5, 6 * 1024 * 1024]) {
        if (size > 100_000 && piece < 100) continue;
        const file = await sealToFile(dek, data, piece);
        expect(fs.statSync(file).size).toBe(encryptedSize(size, CHUNK));
        const { out, error } = await send(file, dek);
        expect(error).toBeUndefined();
        expect(out.equals(data)).toBe(true);
        // The same bytes on disk as the stream path writes and reads.
        const streamed = await decrypt(dek, fs.readFileSync(file));
        expect(streamed.out.equals(data)).toBe(true);
      }
      const viaStream = path.join(dir, `stream-${++n}.enc`);
      fs.writeFileSync(viaStream, await encrypt(dek, data, 65536));
      expect((await send(viaStream, dek)).out.equals(data)).toBe(true);
    },
  );

  test('when ranges are sent, then exactly those bytes come back', async () => {
    const data = crypto.randomBytes(5 * CHUNK + 321);
    const file = await sealToFile(dek, data, 1000);
    for (const [start, end] of [
      [0, 0],
      [data.length - 1, data.length - 1],
      [CHUNK - 10, CHUNK + 10],
      [100, 200],
      [2 * CHUNK, 3 * CHUNK - 1],
      [0, data.length - 1],
    ] as Array<[number, number]>) {
      const { out, error } = await send(file, dek, { start, end });
      expect(error).toBeUndefined();
      expect(out.equals(data.subarray(start, end + 1))).toBe(true);
    }
  });

  describe('when the file is damaged', () => {
    const data = crypto.randomBytes(4 * CHUNK + 100);
    let sealed: Buffer;
    beforeAll(async () => {
      sealed = fs.readFileSync(await sealToFile(dek, data, 1000));
    });
    const write = (b: Buffer): string => {
      const file = path.join(dir, `damaged-${++n}.enc`);
      fs.writeFileSync(file, b);
      return file;
    };
    const flip = (b: Buffer, at: number): Buffer => {
      const c = Buffer.from(b);
      c[at] = c[at]! ^ 0x01;
      return c;
    };

    test.each([
      ['a byte of chunk 2', () => flip(sealed, HEADER + 2 * SEALED + 10)],
      ['a byte of a tag', () => flip(sealed, HEADER + SEALED - 1)],
      ['the file id in the header', () => flip(sealed, 20)],
      ['cut at a chunk boundary', () => sealed.subarray(0, HEADER + 3 * SEALED)],
      [
        'cut mid-chunk (what is left looks like a shorter final chunk)',
        () => sealed.subarray(0, HEADER + 2 * SEALED + 50),
      ],
      [
        'two chunks swapped',
        () =>
          Buffer.concat([
            sealed.subarray(0, HEADER),
            sealed.subarray(HEADER + SEALED, HEADER + 2 * SEALED),
            sealed.subarray(HEADER, HEADER + SEALED),
            sealed.subarray(HEADER + 2 * SEALED),
          ]),
      ],
    ] as Array<[string, () => Buffer]>)(
      'when %s, then the send fails as TAMPERED having written only verified chunks',
      async (_what, damage) => {
        const { out, error } = await send(write(damage()), dek);
        expect(error).toBeInstanceOf(CryptoError);
        expect(error!.code).toBe('TAMPERED');
        expect(out.length % CHUNK).toBe(0);
        expect(out.equals(data.subarray(0, out.length))).toBe(true);
      },
    );

    test('when the file is cut inside a tag, then its size gives it away before anything is sent', async () => {
      await expect(DecryptedFile.open(write(sealed.subarray(0, HEADER + 2 * SEALED + 7)), dek)).rejects.toMatchObject({
        code: 'TRUNCATED',
      });
    });

    test('when the key is wrong, then the send fails with a clear error and no output', async () => {
      const { out, error } = await send(write(sealed), newDataKey());
      expect(error?.code).toBe('TAMPERED');
      expect(error?.message).toMatch(/failed authentication/);
      expect(out.length).toBe(0);
    });

    test('when an empty object is tampered, then even its one empty chunk fails verification', async () => {
      const empty = fs.readFileSync(await sealToFile(dek, Buffer.alloc(0), 1));
      const { error } = await send(write(flip(empty, HEADER + 3)), dek);
      expect(error?.code).toBe('TAMPERED');
    });
  });

  test('when many transfers run at once, then they share the workers and each comes back intact', async () => {
    const datas = Array.from({ length: 12 }, (_, i) => crypto.randomBytes(300 * 1024 + i * 17));
    const files = await Promise.all(datas.map((d) => sealToFile(dek, d, 65536)));
    const outs = await Promise.all(files.map((f) => send(f, dek)));
    outs.forEach(({ out, error }, i) => {
      expect(error).toBeUndefined();
      expect(out.equals(datas[i]!)).toBe(true);
    });
  });

  test('when the worker cannot write the file, then the upload fails with the errno, not a hang', async () => {
    const file = path.join(dir, `readonly-${++n}.enc`);
    fs.writeFileSync(file, '');
    const fh = await fsp.open(file, 'r');
    try {
      const sealer = FileSealer.create(fh.fd, dek, CHUNK, 1);
      const done = (async () => {
        for (let i = 0; i < 64; i++) if (!sealer.write(crypto.randomBytes(CHUNK))) await sealer.room();
        await sealer.end();
      })();
      await expect(done).rejects.toMatchObject({ code: 'EBADF' });
      await sealer.abort();
    } finally {
      await fh.close();
    }
  });

  test('when a send is cancelled mid-way (the client left), then it stops and the next send still works', async () => {
    // Larger than the worker's ring, which bounds what can be outstanding.
    const data = crypto.randomBytes(8 * 1024 * 1024);
    const file = await sealToFile(dek, data, 65536);
    const body = await DecryptedFile.open(file, dek);
    // A socket that never drains: its write callbacks never come.
    const stuck = new Writable({ highWaterMark: 1, write: () => undefined });
    const sending = body.sendTo(stuck);
    await waitFor(() => body.sent > 0, 'the send to start');
    await body.cancel();
    await sending;
    expect(body.sent).toBeGreaterThan(0);
    expect(body.sent).toBeLessThan(data.length);
    expect((await send(file, dek)).out.equals(data)).toBe(true);
  });
});

describe('keys', () => {
  test('when key material is a Fernet key, hex or base64, then it is accepted; anything else is refused', () => {
    const raw = crypto.randomBytes(32);
    const fernet = raw.toString('base64url') + '=';
    expect(parseMasterKey(fernet).equals(raw)).toBe(true);
    expect(parseMasterKey(raw.toString('hex')).equals(raw)).toBe(true);
    expect(parseMasterKey(raw.toString('base64')).equals(raw)).toBe(true);
    expect(parseMasterKey(generateMasterKey())).toHaveLength(32);
    for (const bad of ['', 'short', 'x'.repeat(44), crypto.randomBytes(16).toString('hex')]) {
      expect(() => parseMasterKey(bad)).toThrow(expect.objectContaining({ code: 'BAD_KEY_MATERIAL' }));
    }
  });

  test('when KEKs are derived, then they differ per location and version and are stable', () => {
    const m = crypto.randomBytes(32);
    const a = deriveKek(m, 'ONPREM', 1);
    expect(deriveKek(m, 'ONPREM', 1).equals(a)).toBe(true);
    expect(deriveKek(m, 'PUBLIC', 1).equals(a)).toBe(false);
    expect(deriveKek(m, 'ONPREM', 2).equals(a)).toBe(false);
    expect(keyFingerprint(m)).toBe(keyFingerprint(Buffer.from(m)));
    expect(keyFingerprint(m)).not.toBe(keyFingerprint(crypto.randomBytes(32)));
  });

  test('when a data key is wrapped, then only the same KEK and key id unwrap it', () => {
    const m = crypto.randomBytes(32);
    const dek = newDataKey();
    const kek = deriveKek(m, 'PRIVATE', 1);
    const wrapped = wrapKey(kek, 'PRIVATE:v1', dek);
    expect(wrapped).toHaveLength(60);
    expect(unwrapKey(kek, 'PRIVATE:v1', wrapped).equals(dek)).toBe(true);
    expect(() => unwrapKey(deriveKek(m, 'PRIVATE', 2), 'PRIVATE:v1', wrapped)).toThrow(
      expect.objectContaining({ code: 'WRONG_KEY' }),
    );
    expect(() => unwrapKey(kek, 'PUBLIC:v1', wrapped)).toThrow(expect.objectContaining({ code: 'WRONG_KEY' }));
  });
});
