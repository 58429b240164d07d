import fsp from 'node:fs/promises';
import { finished, type Readable } from 'node:stream';
import { type Clock, AppError, type KeyedLock, type Logger } from '../platform';
import type { EventPublisher } from '../stream';
import type { Location, Tier } from '../db';
import { CryptoError, FileSealer, ObjectSealer, newDataKey, type ObjectLabel, type PlainBody } from './crypto';
import type { Faults } from './faults';
import { Integrity, damagedContent } from './integrity';
import { SyncPacer } from './sync-pacer';
import type { Keyring } from './keyring';
import type { StorageRepository } from './repository';
import type { StoredObjects } from './stored-objects';
import { type ObjectStore, objectKey } from './stores';
import { TierTree, removeIfExists } from './tier-tree';

export interface Uploaded {
  bytes: number;
  sha256: string;
  /** The id of the write event the upload was recorded as. */
  event_id: string;
}

interface Stored {
  bytes: number;
  sha256: string;
  objectId: string;
}

export interface Download {
  objectId: string;
  /** Verified plaintext (whole or the range) to send with `sendTo(res)`, or `cancel()`. */
  body: PlainBody;
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
export interface ContentServiceDeps {
  repo: StorageRepository;
  tree: TierTree;
  /** Each location's store: what publishes, opens and removes objects. */
  objects: StoredObjects;
  keyring: Keyring;
  /** One holder per dataset, shared with moves. */
  locks: KeyedLock<number>;
  /** A download is published as a read event, an upload as a write. */
  publisher: EventPublisher;
  clock: Clock;
  logger: Logger;
  /** Plaintext bytes per sealed chunk of a new object. */
  chunkSize: number;
  /** Test-only crash points (DIM_FAULT_PAUSE). */
  faults?: Faults;
}

export class ContentService {
  private readonly integrity: Integrity;

  constructor(private readonly deps: ContentServiceDeps) {
    this.integrity = new Integrity(deps);
  }

  /**
   * A user's upload (or replacement) of the content. It is the dataset's write, published as a
   * write event once the content is switched, so the statistics count it like a write sent to
   * /api/events (the dataset is watched from its birth). `event_id` is that event's idempotency
   * key: a client that also reports the write sends it with this id, and it counts once.
   */
  async upload(datasetId: number, body: Readable): Promise<Uploaded> {
    const stored = await this.replace(datasetId, body);
    return { bytes: stored.bytes, sha256: stored.sha256, event_id: await this.recordWrite(datasetId, stored) };
  }

  /** The same bytes re-encrypted (a header rewrite): not a write. 409 if `onlyIf` is no longer the object. */
  async rewrite(datasetId: number, body: Readable, onlyIf: string): Promise<{ bytes: number; sha256: string }> {
    const { bytes, sha256 } = await this.replace(datasetId, body, onlyIf);
    return { bytes, sha256 };
  }

  private async replace(datasetId: number, body: Readable, onlyIf?: string): Promise<Stored> {
    // Refuse at once rather than hold the request open behind a move's lock for its whole copy.
    const moving = await this.deps.repo.activeMove(datasetId);
    if (moving)
      throw AppError.conflict(`dataset is being moved (move ${moving.id}); upload once it has finished`, {
        move_id: moving.id,
      });
    return this.deps.locks.run(datasetId, async () => {
      const row = await this.deps.repo.content(datasetId);
      if (!row) throw AppError.notFound('dataset not found', { dataset_id: datasetId });
      if (onlyIf !== undefined && row.object_id !== onlyIf)
        throw AppError.conflict('the content changed meanwhile', { dataset_id: datasetId });
      const active = await this.deps.repo.activeMove(datasetId);
      if (active)
        throw AppError.conflict(`dataset is being moved (move ${active.id}); upload once it has finished`, {
          move_id: active.id,
        });

      const objectId = TierTree.newObjectId();
      const dek = newDataKey();
      // Wrapped before the bytes are written: the object's label carries this same wrapping.
      const { kekId, wrapped } = await this.deps.keyring.wrapFor(row.location, dek);
      let now = this.deps.clock.now();
      const labelFor = (bytes: number, sha256: string): ObjectLabel => {
        now = this.deps.clock.now();
        const placement = { location: row.location, tier: row.tier };
        const facts = { dataset_id: datasetId, name: row.name, bytes, sha256, ...placement, written_at: now };
        return { kekId, wrapped, facts: { ...facts, object_id: objectId } };
      };
      const { bytes, sha256 } = await this.store(body, row, objectId, dek, labelFor);
      await this.deps.faults?.reach('upload.after_rename', { dataset_id: datasetId, object: objectId });
      const ok = await this.deps.repo.setContent(datasetId, {
        object_id: objectId,
        content_bytes: bytes,
        content_sha256: sha256,
        wrapped_key: wrapped,
        kek_id: kekId,
        now,
      });
      if (!ok) {
        await this.deps.objects.remove(row.location, row.tier, objectId);
        throw AppError.notFound('dataset not found (deleted during the upload)', { dataset_id: datasetId });
      }
      await this.deps.faults?.reach('upload.after_switch', { dataset_id: datasetId });
      // A crash before this leaves the old object unreferenced, which start-up recovery removes.
      if (row.object_id) await this.deps.objects.remove(row.location, row.tier, row.object_id);
      this.deps.logger.info('storage.uploaded', {
        dataset_id: datasetId,
        bytes,
        object: objectId,
        placement: `${row.location}/${row.tier}`,
      });
      return { bytes, sha256, objectId };
    });
  }

  /**
   * Through the bus, as every access is, and awaited: once the upload answers, its write is
   * durable. If the bus cannot take it the content stays stored (the upload did happen); the
   * loss is logged and the client may still report the write under the same id.
   */
  private async recordWrite(datasetId: number, stored: Stored): Promise<string> {
    const now = this.deps.clock.now();
    const id = `upload:${stored.objectId}`;
    const event = { v: 1, id, dataset_id: datasetId, type: 'write', bytes: stored.bytes, scan: false } as const;
    try {
      await this.deps.publisher.publish([{ ...event, ts: now, received_at: now }]);
    } catch (err) {
      this.deps.logger.warn('storage.upload_event_lost', { dataset_id: datasetId, event_id: id, error: err as Error });
    }
    return id;
  }

  /**
   * The object written where the dataset is placed: a sealed temporary file renamed into place
   * on a file store; on an object store, sealed straight into a streamed multipart write that
   * only becomes an object once whole and checked (no staging file).
   */
  private async store(
    body: Readable,
    at: { location: Location; tier: Tier },
    objectId: string,
    dek: Buffer,
    labelFor: (bytes: number, sha256: string) => ObjectLabel,
  ): Promise<{ bytes: number; sha256: string }> {
    const { objects, tree, chunkSize } = this.deps;
    const store = objects.store(at.location);
    if (store.write) {
      try {
        return await encryptToStore(body, store, objectKey(at.tier, objectId), at.tier, dek, chunkSize, labelFor);
      } catch (err) {
        throw storageError(err, 'upload');
      }
    }
    const tmp = tree.tmpPath(at.location, at.tier, objectId);
    let stored: { bytes: number; sha256: string };
    try {
      stored = await encryptToFile(body, tmp, dek, chunkSize, labelFor);
    } catch (err) {
      await removeIfExists(tmp);
      throw storageError(err, 'upload');
    }
    try {
      await objects.publish(at.location, at.tier, objectId, tmp);
    } catch (err) {
      throw storageError(err, 'upload');
    }
    return stored;
  }

  /**
   * Opens the current copy; `range` is inclusive, already checked against the size. Damage found
   * here (before anything is sent) is reported and answered as a 500 naming it.
   */
  async download(datasetId: number, range?: { start: number; end: number }, requestId?: string): Promise<Download> {
    for (let attempt = 0; ; attempt++) {
      const row = await this.deps.repo.content(datasetId);
      if (!row) throw AppError.notFound('dataset not found', { dataset_id: datasetId });
      if (!row.object_id || row.content_bytes === null || !row.wrapped_key || !row.kek_id || !row.content_sha256) {
        throw AppError.notFound(
          'dataset has no content: it is catalog-only (upload with PUT /api/datasets/:id/content)',
          { dataset_id: datasetId, catalog_only: true },
        );
      }
      const objectId = row.object_id;
      const damaged = async (detail: string): Promise<AppError> => {
        await this.integrity.damaged({ datasetId, objectId, foundBy: 'download', detail, requestId });
        return damagedContent(datasetId, detail, requestId);
      };
      const dek = this.deps.keyring.unwrap(row.kek_id, row.wrapped_key);
      let body: PlainBody;
      try {
        body = await this.deps.objects.open(row.location, row.tier, objectId, dek, range);
      } catch (err) {
        // A move switched the row and removed the old copy between our read and our open.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 3) continue;
        if (err instanceof CryptoError) throw await damaged(err.message);
        throw err;
      }
      if (body.size !== row.content_bytes) {
        // Caught before any header goes out, so the client gets an error rather than a cut body.
        await body.cancel();
        throw await damaged(`the stored object holds ${body.size} bytes, the record says ${row.content_bytes}`);
      }
      return { objectId, body, length: body.length, size: row.content_bytes, sha256: row.content_sha256 };
    }
  }

  /**
   * A download whose sending failed. Damage is reported; if nothing was sent yet the answer is
   * still a clear 500 (thrown), else the connection is cut short of its Content-Length.
   */
  async sendFailed(datasetId: number, dl: Download, err: unknown, requestId?: string): Promise<AppError | undefined> {
    if (!(err instanceof CryptoError)) return undefined;
    await this.integrity.damaged({
      datasetId,
      objectId: dl.objectId,
      foundBy: 'download',
      detail: err.message,
      requestId,
    });
    return damagedContent(datasetId, err.message, requestId);
  }

  /** A download is a read: it counts in the statistics like any other access. */
  recordRead(datasetId: number, bytes: number): void {
    const now = this.deps.clock.now();
    this.deps.publisher
      .publish([{ v: 1, dataset_id: datasetId, type: 'read', bytes, ts: now, scan: false, received_at: now }])
      .catch((err: unknown) =>
        this.deps.logger.warn('storage.download_event_lost', { dataset_id: datasetId, error: err as Error }),
      );
  }
}

/**
 * The upload's data path (format version 2, labelled once the SHA-256 is known). Each piece of the body is copied into the ring of a worker that hashes
 * (SHA-256) and seals full chunks and appends them to the file, which is synced in the background
 * as it grows; the main thread only receives and copies. The body pauses whenever the ring is
 * full, so memory stays bounded whatever the size.
 */
async function encryptToFile(
  body: Readable,
  file: string,
  dek: Buffer,
  chunkSize: number,
  labelFor: (bytes: number, sha256: string) => ObjectLabel,
): Promise<{ bytes: number; sha256: string }> {
  const fh = await fsp.open(file, 'wx', 0o600);
  const pacer = new SyncPacer(fh);
  let sealer: FileSealer | undefined;
  try {
    const s = (sealer = FileSealer.create(fh.fd, dek, chunkSize, 2));
    let bytes = 0;
    await eachPiece(body, (piece) => {
      bytes += piece.length;
      const ready = s.write(piece);
      pacer.progress(s.sealedBytes);
      return ready ? undefined : s.room();
    });
    const sha256 = await s.end();
    sealer = undefined;
    await s.label(labelFor(bytes, sha256));
    await pacer.finish();
    return { bytes, sha256 };
  } catch (err) {
    // The worker must be done with the descriptor before it is closed.
    await sealer?.abort();
    await pacer.settle();
    throw err;
  } finally {
    await fh.close();
  }
}

/**
 * The upload's data path to an object store: each piece is copied into a worker's ring, which
 * hashes and seals it into the io ring, from where the store sends each part as soon as it is
 * whole (a few parts in flight, bounded memory). The first part is sent last, with the label.
 */
async function encryptToStore(
  body: Readable,
  store: ObjectStore,
  key: string,
  tier: Tier,
  dek: Buffer,
  chunkSize: number,
  labelFor: (bytes: number, sha256: string) => ObjectLabel,
): Promise<{ bytes: number; sha256: string }> {
  const sealer = ObjectSealer.create(dek, chunkSize, store.ringBytes!);
  const write = store.write!(key, tier, sealer);
  try {
    let bytes = 0;
    await eachPiece(body, (piece) => {
      bytes += piece.length;
      return sealer.write(piece) ? undefined : sealer.room();
    });
    const sha256 = await sealer.end();
    await write.finish(sealer.labelBytes(labelFor(bytes, sha256)));
    sealer.recycle();
    return { bytes, sha256 };
  } catch (err) {
    await sealer.abort();
    await write.abort().catch(() => undefined);
    throw err;
  }
}

/**
 * Hands each piece of `body` to `take` as it arrives, pausing the body while a promise `take`
 * returned is pending. 'data' events deliver the pieces as they came off the socket; async
 * iteration would read() and concatenate whatever had queued up, a copy per batch for nothing.
 * On failure the rest of the body is read and dropped (as Node does with a body nobody reads),
 * so the error response can go out and the connection stays usable.
 */
function eachPiece(body: Readable, take: (piece: Buffer) => Promise<void> | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      stopWatching();
      body.off('data', onData);
      body.resume();
      reject(err);
    };
    const onData = (piece: Buffer): void => {
      let wait: Promise<void> | undefined;
      try {
        wait = take(piece);
      } catch (err) {
        fail(err as Error);
        return;
      }
      if (!wait) return;
      body.pause();
      wait.then(() => {
        if (!settled) body.resume();
      }, fail);
    };
    // 'end' may come while the last piece's promise is pending: the caller's next steps wait on
    // the same sealer and file, whose failures persist, so nothing is lost.
    const stopWatching = finished(body, { writable: false }, (err) => {
      if (err) fail(err);
      else if (!settled) {
        settled = true;
        stopWatching();
        body.off('data', onData);
        resolve();
      }
    });
    body.on('data', onData);
  });
}

/** Disk full and friends become clear answers; anything else propagates. */
export function storageError(err: unknown, what: string): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new AppError(507, `${what} failed: the storage is full`);
  if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET')
    return new AppError(400, `${what} aborted: the request body ended early`);
  return err;
}
