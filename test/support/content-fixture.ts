import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import request from 'supertest';
import type { App } from '../../src/app';
import { createEncryptStream, deriveKek, parseMasterKey, unwrapKey } from '../../src/storage/crypto';
import { API_KEY } from './harness';
import { binaryBody, call } from './http-client';

/**
 * Datasets with real content, uploaded through the API, and the check that every one downloads
 * with its SHA-256: the fixture the storage tests (backups, header rewrite, master key rotation)
 * share, in process (supertest) or against a child process (a URL).
 */
export interface ContentSet {
  id: number;
  name: string;
  data: Buffer;
}

const key = { 'x-api-key': API_KEY };
export const sha256 = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');

type Target = App['http'] | string;

/** One dataset per size, named `${prefix}-${i}`, with random content of that size. */
export async function uploadSets(to: Target, sizes: readonly number[], prefix: string): Promise<ContentSet[]> {
  const sets: ContentSet[] = [];
  for (const [i, size] of sizes.entries()) {
    const name = `${prefix}-${i}`;
    const data = crypto.randomBytes(size);
    if (typeof to === 'string') {
      const created = await call(to, 'POST', '/api/datasets', { name });
      if (created.status !== 201) throw new Error(`create ${name}: ${created.status}`);
      const id = created.body.id as number;
      const put = await fetch(`${to}/api/datasets/${id}/content`, {
        method: 'PUT',
        headers: { ...key, 'content-type': 'application/octet-stream' },
        body: data,
      });
      if (put.status !== 200) throw new Error(`upload ${name}: ${put.status} ${await put.text()}`);
      sets.push({ id, name, data });
      continue;
    }
    const id = (await request(to).post('/api/datasets').set(key).send({ name }).expect(201)).body.id as number;
    await request(to)
      .put(`/api/datasets/${id}/content`)
      .set(key)
      .set('content-type', 'application/octet-stream')
      .send(data)
      .expect(200);
    sets.push({ id, name, data });
  }
  return sets;
}

/** The content of one dataset as downloaded, or the status it was refused with. */
export async function download(from: Target, id: number): Promise<Buffer | number> {
  if (typeof from === 'string') {
    const r = await fetch(`${from}/api/datasets/${id}/content`, { headers: key });
    return r.status === 200 ? Buffer.from(await r.arrayBuffer()) : r.status;
  }
  const r = await request(from).get(`/api/datasets/${id}/content`).buffer(true).parse(binaryBody);
  return r.status === 200 ? (r.body as Buffer) : r.status;
}

/** Every set downloads with its SHA-256. */
export async function expectDownloads(from: Target, sets: readonly ContentSet[]): Promise<void> {
  for (const s of sets) {
    const got = await download(from, s.id);
    expect(typeof got === 'number' ? `status ${got}` : sha256(got)).toBe(sha256(s.data));
  }
}

/**
 * Rewrites a set's object as an older version wrote it: the same content and data key, in format
 * version 1 (no label). Returns the object's file.
 */
export async function downgradeToVersion1(app: App, dir: string, master: string, set: ContentSet): Promise<string> {
  const row = await app.database.db
    .selectFrom('datasets')
    .select(['object_id', 'kek_id', 'wrapped_key', 'location', 'tier'])
    .where('id', '=', set.id)
    .executeTakeFirstOrThrow();
  const [location, v] = row.kek_id!.split(':v');
  const dek = unwrapKey(deriveKek(parseMasterKey(master), location!, Number(v)), row.kek_id!, row.wrapped_key!);
  const file = path.join(dir, 'tiers', row.location, row.tier, `${row.object_id}.enc`);
  const parts: Buffer[] = [];
  for await (const c of Readable.from([set.data]).pipe(createEncryptStream(dek))) parts.push(c as Buffer);
  fs.writeFileSync(file, Buffer.concat(parts));
  return file;
}
