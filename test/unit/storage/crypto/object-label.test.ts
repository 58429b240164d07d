import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DecryptedFile,
  FileSealer,
  createDecryptStream,
  createEncryptStream,
  encryptedSize,
  newDataKey,
  readObjectHeader,
  relabelFile,
  unwrapKey,
  wrapKey,
  type ObjectLabel,
} from '../../../../src/storage/crypto';
import { tempDir } from '../../../support/harness';

const CHUNK = 4096;
const PREFIX = 32;
const DATA_START = 4096;
const KEK = crypto.randomBytes(32);

function labelOf(dek: Buffer, data: Buffer, kekId = 'PRIVATE:v1'): ObjectLabel {
  return {
    kekId,
    wrapped: wrapKey(KEK, kekId, dek),
    facts: {
      dataset_id: 7,
      name: 'orders — 2026 ✓',
      bytes: data.length,
      sha256: crypto.createHash('sha256').update(data).digest('hex'),
      location: 'PRIVATE',
      tier: 'WARM',
      written_at: 1_700_000_000_000,
      object_id: 'abc',
    },
  };
}

describe('object format version 2: the label', () => {
  const dir = tempDir();
  let n = 0;

  async function sealV2(dek: Buffer, data: Buffer): Promise<string> {
    const file = path.join(dir, `v2-${++n}.enc`);
    const fh = await fsp.open(file, 'wx');
    try {
      const sealer = FileSealer.create(fh.fd, dek, CHUNK, 2);
      for (let i = 0; i < data.length; i += 5000) if (!sealer.write(data.subarray(i, i + 5000))) await sealer.room();
      const sha = await sealer.end();
      await sealer.label(labelOf(dek, data));
      expect(sha).toBe(labelOf(dek, data).facts.sha256);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return file;
  }

  async function readAll(file: string, dek: Buffer): Promise<Buffer> {
    const parts: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        parts.push(Buffer.from(chunk));
        cb();
      },
    });
    await (await DecryptedFile.open(file, dek)).sendTo(sink);
    return Buffer.concat(parts);
  }

  async function viaStream(bytes: Buffer, dek: Buffer): Promise<Buffer> {
    const out: Buffer[] = [];
    const pieces = [];
    for (let i = 0; i < bytes.length; i += 999) pieces.push(bytes.subarray(i, i + 999));
    await pipeline(Readable.from(pieces), createDecryptStream(dek), async (s: AsyncIterable<Buffer>) => {
      for await (const c of s) out.push(c);
    });
    return Buffer.concat(out);
  }

  test.each([0, 1, CHUNK, 3 * CHUNK + 17])(
    'when %i bytes are written as version 2, then they read back whole and the label unwraps alone',
    async (size) => {
      const dek = newDataKey();
      const data = crypto.randomBytes(size);
      const file = await sealV2(dek, data);
      expect(fs.statSync(file).size).toBe(encryptedSize(size, CHUNK, DATA_START));
      expect((await readAll(file, dek)).equals(data)).toBe(true);
      expect((await viaStream(fs.readFileSync(file), dek)).equals(data)).toBe(true);
      // Recovery's view: no database, only the file and the KEK.
      const found = await readObjectHeader(file);
      expect(found.version).toBe(2);
      const key = unwrapKey(KEK, found.key!.kekId, found.key!.wrapped);
      expect(key.equals(dek)).toBe(true);
      const label = found.open(key);
      expect(label.kekId).toBe('PRIVATE:v1');
      expect(label.facts).toEqual(labelOf(dek, data).facts);
    },
  );

  test('when any byte of the label is changed, then the object fails to open like a changed chunk', async () => {
    const dek = newDataKey();
    const data = crypto.randomBytes(2 * CHUNK);
    const file = await sealV2(dek, data);
    const good = fs.readFileSync(file);
    // The nonce, the key id, the wrapped key, the sealed facts, the zero padding, the tag.
    for (const at of [PREFIX + 3, PREFIX + 15, PREFIX + 40, PREFIX + 120, PREFIX + 2000, DATA_START - 1]) {
      const bad = Buffer.from(good);
      bad[at] = bad[at]! ^ 0x01;
      const f = path.join(dir, `bad-${++n}.enc`);
      fs.writeFileSync(f, bad);
      await expect(DecryptedFile.open(f, dek)).rejects.toMatchObject({ name: 'CryptoError' });
      await expect(viaStream(bad, dek)).rejects.toMatchObject({ name: 'CryptoError' });
    }
  });

  test('when a label is re-sealed (a move), then it carries the new wrapping and placement and the data is intact', async () => {
    const dek = newDataKey();
    const data = crypto.randomBytes(CHUNK + 5);
    const file = await sealV2(dek, data);
    const before = fs.readFileSync(file);
    const changed = await relabelFile(file, dek, (l) => ({
      kekId: 'PUBLIC:v3',
      wrapped: wrapKey(KEK, 'PUBLIC:v3', dek),
      facts: { ...l.facts, location: 'PUBLIC', tier: 'COLD' },
    }));
    expect(changed).toBe(true);
    const after = fs.readFileSync(file);
    expect(after.subarray(DATA_START).equals(before.subarray(DATA_START))).toBe(true);
    // A fresh nonce each sealing: the same data key never seals twice under one nonce.
    expect(after.subarray(PREFIX, PREFIX + 12).equals(before.subarray(PREFIX, PREFIX + 12))).toBe(false);
    const found = await readObjectHeader(file);
    expect(found.key!.kekId).toBe('PUBLIC:v3');
    expect(found.open(dek).facts).toMatchObject({ location: 'PUBLIC', tier: 'COLD', dataset_id: 7 });
    expect((await readAll(file, dek)).equals(data)).toBe(true);
  });

  test('when an object is in version 1, then it still reads and has no label to change', async () => {
    const dek = newDataKey();
    const data = crypto.randomBytes(CHUNK * 2);
    const out: Buffer[] = [];
    for await (const c of Readable.from([data]).pipe(createEncryptStream(dek, { chunkSize: CHUNK })))
      out.push(c as Buffer);
    const file = path.join(dir, `v1-${++n}.enc`);
    fs.writeFileSync(file, Buffer.concat(out));
    expect((await readObjectHeader(file)).version).toBe(1);
    expect((await readObjectHeader(file)).key).toBeUndefined();
    expect(await relabelFile(file, dek, (l) => l)).toBe(false);
    expect((await readAll(file, dek)).equals(data)).toBe(true);
  });
});
