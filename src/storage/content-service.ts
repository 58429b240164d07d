import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Clock } from '../platform/clock';
import { AppError } from '../platform/errors';
import type { KeyedLock } from '../platform/lifecycle';
import type { Logger } from '../platform/logger';
import type { EventPublisher } from '../stream/types';
import { createDecryptStream, createEncryptStream, createRangeDecryptStream, newDataKey } from './crypto';
import type { Keyring } from './keyring';
import type { StorageRepository } from './repository';
import { TierTree, fsyncDir, removeIfExists } from './tier-tree';

export interface Download {
  stream: Readable;
  /** Bytes in this answer (the range's length for a range). */
  length: number;
  /** The whole content's size. */
  size: number;
  sha256: string;
}

/**
 * Dataset bytes in and out of the tier tree. Uploads stream through SHA-256 and encryption into a
 * temporary file that is fsynced and renamed before the database points at it; downloads stream
 * decrypted bytes (whole or a range) from whichever copy the database points at.
 */
export class ContentService {
  constructor(
    private readonly repo: StorageRepository,
    private readonly tree: TierTree,
    private readonly keyring: Keyring,
    private readonly locks: KeyedLock<number>,
    private readonly publisher: EventPublisher,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly chunkSize: number,
  ) {}

  async upload(datasetId: number, body: Readable): Promise<{ bytes: number; sha256: string }> {
    // Refuse at once rather than hold the request open behind a move's lock for its whole copy.
    const moving = await this.repo.activeMove(datasetId);
    if (moving) throw AppError.conflict(`dataset is being moved (move ${moving.id}); upload once it has finished`, { move_id: moving.id });
    return this.locks.run(datasetId, async () => {
      const row = await this.repo.content(datasetId);
      if (!row) throw AppError.notFound('dataset not found', { dataset_id: datasetId });
      const active = await this.repo.activeMove(datasetId);
      if (active) throw AppError.conflict(`dataset is being moved (move ${active.id}); upload once it has finished`, { move_id: active.id });

      const objectId = TierTree.newObjectId();
      const tmp = this.tree.tmpPath(row.location, row.tier, objectId);
      const final = this.tree.objectPath(row.location, row.tier, objectId);
      const dek = newDataKey();
      const hash = crypto.createHash('sha256');
      let bytes = 0;
      const measure = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          bytes += chunk.length;
          cb(null, chunk);
        },
      });
      try {
        // flush: the file is fsynced before it closes, so the rename below publishes durable bytes.
        await pipeline(body, measure, createEncryptStream(dek, { chunkSize: this.chunkSize }), fs.createWriteStream(tmp, { flags: 'wx', mode: 0o600, flush: true }));
      } catch (err) {
        await removeIfExists(tmp);
        throw storageError(err, 'upload');
      }
      await fsp.rename(tmp, final);
      await fsyncDir(path.dirname(final));
      const sha256 = hash.digest('hex');
      const { kekId, wrapped } = await this.keyring.wrapFor(row.location, dek);
      const now = this.clock.now();
      const ok = await this.repo.setContent(datasetId, { object_id: objectId, content_bytes: bytes, content_sha256: sha256, wrapped_key: wrapped, kek_id: kekId, now });
      if (!ok) {
        await removeIfExists(final);
        throw AppError.notFound('dataset not found (deleted during the upload)', { dataset_id: datasetId });
      }
      if (row.object_id) {
        const old = this.tree.objectPath(row.location, row.tier, row.object_id);
        await removeIfExists(old);
        await fsyncDir(path.dirname(old));
      }
      this.logger.info('storage.uploaded', { dataset_id: datasetId, bytes, object: objectId, placement: `${row.location}/${row.tier}` });
      return { bytes, sha256 };
    });
  }

  /** Opens the current copy; `range` is inclusive, already checked against the size. */
  async download(datasetId: number, range?: { start: number; end: number }): Promise<Download> {
    for (let attempt = 0; ; attempt++) {
      const row = await this.repo.content(datasetId);
      if (!row) throw AppError.notFound('dataset not found', { dataset_id: datasetId });
      if (!row.object_id || row.content_bytes === null || !row.wrapped_key || !row.kek_id || !row.content_sha256) {
        throw AppError.notFound('dataset has no content: it is catalog-only (upload with PUT /api/datasets/:id/content)', { dataset_id: datasetId, catalog_only: true });
      }
      const file = this.tree.objectPath(row.location, row.tier, row.object_id);
      const dek = this.keyring.unwrap(row.kek_id, row.wrapped_key);
      try {
        if (range) {
          const stream = await createRangeDecryptStream(file, dek, range.start, range.end);
          return { stream, length: range.end - range.start + 1, size: row.content_bytes, sha256: row.content_sha256 };
        }
        const fh = await fsp.open(file, 'r');
        const stream = fh.createReadStream().pipe(createDecryptStream(dek));
        return { stream, length: row.content_bytes, size: row.content_bytes, sha256: row.content_sha256 };
      } catch (err) {
        // A move switched the row and removed the old copy between our read and our open.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 3) continue;
        throw err;
      }
    }
  }

  /** A download is a read: it counts in the statistics like any other access. */
  recordRead(datasetId: number, bytes: number): void {
    const now = this.clock.now();
    this.publisher
      .publish([{ v: 1, dataset_id: datasetId, type: 'read', bytes, ts: now, scan: false, received_at: now }])
      .catch((err: unknown) => this.logger.warn('storage.download_event_lost', { dataset_id: datasetId, error: err as Error }));
  }
}

/** Disk full and friends become clear answers; anything else propagates. */
export function storageError(err: unknown, what: string): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new AppError(507, `${what} failed: the storage is full`);
  if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET') return new AppError(400, `${what} aborted: the request body ended early`);
  return err;
}
