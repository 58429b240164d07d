import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import request from 'supertest';
import {
  createEncryptStream,
  deriveKek,
  generateMasterKey,
  parseMasterKey,
  readObjectHeader,
  unwrapKey,
} from '../src/storage/crypto';
import { API_KEY, startApp, tempDir } from './support/harness';
import { expectDownloads, uploadSets } from './support/content-fixture';

/** Issue 18: objects written before format version 2 get their label by a rewrite. */
const key = { 'x-api-key': API_KEY };

test('when objects are still in format version 1, then keys rewrite-headers rewrites them with their label, once, and they download the same', async () => {
  const master = generateMasterKey();
  const dir = tempDir('dim-rewrite-');
  const s = await startApp({ DATA_DIR: dir, ENCRYPTION_KEY: master, SCHEDULER_ENABLED: 'false' });
  const h = s.app.http;
  try {
    const sets = await uploadSets(h, [10, 3 * 1024 * 1024 + 1], 'old');
    // Turn the first into what an older version wrote: the same content and key, format version 1.
    const row = await s.app.database.db
      .selectFrom('datasets')
      .select(['object_id', 'kek_id', 'wrapped_key', 'location', 'tier'])
      .where('id', '=', sets[0]!.id)
      .executeTakeFirstOrThrow();
    const [location, v] = row.kek_id!.split(':v');
    const dek = unwrapKey(deriveKek(parseMasterKey(master), location!, Number(v)), row.kek_id!, row.wrapped_key!);
    const oldFile = path.join(dir, 'tiers', row.location, row.tier, `${row.object_id}.enc`);
    const parts: Buffer[] = [];
    for await (const c of Readable.from([sets[0]!.data]).pipe(createEncryptStream(dek))) parts.push(c as Buffer);
    fs.writeFileSync(oldFile, Buffer.concat(parts));
    expect((await readObjectHeader(oldFile)).version).toBe(1);

    const r = (await request(h).post('/api/keys/rewrite-headers').set(key).expect(200)).body;
    expect(r).toEqual({ rewritten: 1, current: 1, left: [] });
    expect(fs.existsSync(oldFile)).toBe(false);
    const again = (await request(h).post('/api/keys/rewrite-headers').set(key).expect(200)).body;
    expect(again).toEqual({ rewritten: 0, current: 2, left: [] });
    await expectDownloads(h, sets);
    const now = await s.app.database.db
      .selectFrom('datasets')
      .select(['object_id', 'location', 'tier'])
      .where('id', '=', sets[0]!.id)
      .executeTakeFirstOrThrow();
    const header = await readObjectHeader(path.join(dir, 'tiers', now.location, now.tier, `${now.object_id}.enc`));
    expect(header.version).toBe(2);
  } finally {
    await s.stop();
  }
});
