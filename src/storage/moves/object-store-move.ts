import fsp from 'node:fs/promises';
import { plaintextSizeOfSource } from '../crypto';
import type { StoredObjects } from '../stored-objects';
import { objectKey } from '../stores';
import type { Bandwidth } from '../throttle';
import type { TierTree } from '../tier-tree';
import { authenticateObject } from '../verify-object';
import { fetchedCopy, fetchesToFile } from './fetched-copy';
import { streamedCopy } from './streamed-copy';
import type { CopyControl, Leftover, MoveStore, Placement, StagedCopy } from './store';

export interface ObjectMoveStoreDeps {
  objects: StoredObjects;
  tree: TierTree;
  bandwidth: Bandwidth;
}

/**
 * Moves that touch an object store (S3). Inside one S3 location the copy is the server's own
 * (CopyObject, or UploadPartCopy past 5 GiB) into the new tier's key and class: no byte passes
 * through the process. Across locations the ciphertext streams from the source (GET or file)
 * into a local staging file under the shared bandwidth limit, hashed as it comes; the staged
 * file is read back and compared, relabelled like a file move's copy, and published: renamed on
 * a file store, or uploaded (multipart) to the destination key and read back, its SHA-256
 * compared with the staged bytes before the switch. Every copy gets a new key; nothing is
 * overwritten in place, and the journal and recovery are the file moves' own.
 */
export class ObjectMoveStore implements MoveStore {
  constructor(private readonly deps: ObjectMoveStoreDeps) {}

  private serverSide(from: Placement, to: Placement): boolean {
    return from.location === to.location && !this.deps.objects.isFile(from.location);
  }

  async size(at: Placement, objectId: string): Promise<number> {
    if (this.deps.objects.isFile(at.location))
      return (await fsp.stat(this.deps.tree.objectPath(at.location, at.tier, objectId))).size;
    return (await this.deps.objects.source(at.location, at.tier, objectId)).size;
  }

  async stage(from: Placement, to: Placement, objectId: string, control: CopyControl): Promise<StagedCopy> {
    if (this.serverSide(from, to)) return this.copyInside(from, to, objectId, control);
    return this.copyAcross(from, to, objectId, control);
  }

  /**
   * The server's copy into the new tier's key; its label (the same location's key) stays valid.
   * No byte passes through the process, and the source is not read to authenticate it: the copy
   * is the server's own, checked by what the server tells (the copy's size, and its ETag: the
   * one CopyObject answered, and the source's own where that is a plain MD5). That is sound
   * because nothing here can tell more without reading every byte: the data stays authenticated
   * by GCM on every read of it (a download, the next move) and the scrub reads it later.
   */
  private async copyInside(from: Placement, to: Placement, objectId: string, c: CopyControl): Promise<StagedCopy> {
    const store = this.deps.objects.store(from.location);
    const key = objectKey(to.tier, objectId);
    let published = false;
    const source = await store.head(objectKey(from.tier, objectId));
    const made = await store.copy(objectKey(from.tier, objectId), key, to.tier);
    await c.landed(c.total);
    await c.copied();
    const head = await store.head(key);
    const plainMd5 = (etag: string | undefined): boolean => /^"?[0-9a-f]{32}"?$/i.test(etag ?? '');
    const same =
      head?.size === c.total &&
      source?.size === c.total &&
      (made?.etag === undefined || head.etag === made.etag) &&
      (!plainMd5(source.etag) || source.opaqueEtag === true || made?.multipart === true || head.etag === source.etag);
    return {
      same,
      sourceDamage: undefined,
      plaintextSize: async () => plaintextSizeOfSource(await this.deps.objects.source(to.location, to.tier, objectId)),
      // The label keeps the wrapping for this same location; the key names the tier (recover reads placement from it).
      relabel: () => Promise.resolve(true),
      publish: () => {
        published = true;
        return Promise.resolve();
      },
      discard: async () => {
        if (!published) await store.delete(key).catch(() => false);
      },
    };
  }

  /**
   * Across locations: the source is read once (GET, or the file) into a ring where a worker
   * authenticates each chunk as it passes (streamed-copy.ts); only verified bytes go on to the
   * destination, written once: parts of a multipart upload (held open until publish, the first
   * part last, with the new label), or a temporary file (relabelled, then renamed). From an
   * object store into a file, a worker reads the GET, authenticates and writes (fetched-copy.ts).
   */
  private copyAcross(from: Placement, to: Placement, objectId: string, c: CopyControl): Promise<StagedCopy> {
    if (fetchesToFile(this.deps.objects, from, to)) return fetchedCopy(this.deps, from, to, objectId, c);
    return streamedCopy(this.deps, from, to, objectId, c);
  }

  /** Both kinds of copy check the source as they make it. */
  checksSourceInStage(): boolean {
    return true;
  }

  authenticate(
    at: Placement,
    objectId: string,
    dek: Buffer,
    plaintextBytes: number,
    pace: (authenticated: number) => Promise<void>,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    const { objects } = this.deps;
    return authenticateObject(
      () => objects.open(at.location, at.tier, objectId, dek),
      dek,
      plaintextBytes,
      pace,
      signal,
    );
  }

  remove(at: Placement, objectId: string): Promise<boolean> {
    return this.deps.objects.remove(at.location, at.tier, objectId);
  }

  async retire(at: Placement, objectId: string): Promise<Leftover | undefined> {
    await this.deps.objects.remove(at.location, at.tier, objectId);
    return undefined;
  }
}
