import { PassThrough, Transform } from 'node:stream';
import { AppError, type Logger, oneAtATime } from '../platform';
import type { ContentService } from './content-service';
import { CryptoError, DecryptedFile, readObjectHeader } from './crypto';
import type { Keyring } from './keyring';
import type { ContentRow, StorageRepository } from './repository';
import type { Bandwidth } from './throttle';
import type { StoredObjects } from './stored-objects';
import type { TierTree } from './tier-tree';

export interface HeaderRewriteDeps {
  repo: StorageRepository;
  tree: TierTree;
  objects: StoredObjects;
  keyring: Keyring;
  content: ContentService;
  /** The pace: the scrub's read budget (SCRUB_BANDWIDTH), a background job like it. */
  bandwidth: Bandwidth;
  logger: Logger;
}

export interface RewriteReport {
  /** Objects rewritten into format version 2. */
  rewritten: number;
  /** Objects already in version 2. */
  current: number;
  /** Objects left for a later run (being moved, replaced meanwhile, or unreadable), with why. */
  left: Array<{ dataset_id: number; reason: string }>;
}

const PAGE = 100;

/**
 * Rewrites objects still in format version 1 (no label) into version 2, one at a time, paced.
 * Each is re-encrypted from its verified plaintext as a new object, the way an upload writes
 * one (temporary file, fsync, rename, then the row switched, the old object removed), and only if
 * the row still points at the object read: a crash at any point leaves the old object in use or
 * the new one (start-up removes what is left), and a later run resumes with what is still in
 * version 1.
 */
export class HeaderRewrite {
  readonly run = oneAtATime(() => this.rewriteAll());

  constructor(private readonly deps: HeaderRewriteDeps) {}

  private async rewriteAll(): Promise<RewriteReport> {
    const report: RewriteReport = { rewritten: 0, current: 0, left: [] };
    for (let after = 0; ;) {
      const page = await this.deps.repo.contentAfter(after, PAGE);
      if (page.length === 0) break;
      for (const row of page) {
        if (!row.object_id || !row.kek_id || !row.wrapped_key) continue;
        try {
          if (await this.rewrite(row, row.object_id)) report.rewritten++;
          else report.current++;
        } catch (err) {
          if (!(err instanceof AppError || err instanceof CryptoError || isGone(err))) throw err;
          report.left.push({ dataset_id: row.id, reason: (err as Error).message });
        }
      }
      after = page.at(-1)!.id;
    }
    this.deps.logger.info('storage.headers_rewritten', { ...report, left: report.left.length });
    return report;
  }

  /** False if the object is already in version 2. */
  private async rewrite(row: ContentRow, objectId: string): Promise<boolean> {
    const { tree, keyring, bandwidth, content, objects } = this.deps;
    // Objects in an object store were all written as version 2: stores came after it.
    if (!objects.isFile(row.location)) return false;
    const file = tree.objectPath(row.location, row.tier, objectId);
    if ((await readObjectHeader(file)).version === 2) return false;
    const plain = await DecryptedFile.open(file, keyring.unwrap(row.kek_id!, row.wrapped_key!));
    const paced = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        // Copied: the views DecryptedFile writes are ring memory, reused once taken.
        const copy = Buffer.from(chunk);
        bandwidth.take(copy.length).then(
          () => cb(null, copy),
          (err: Error) => cb(err),
        );
      },
    });
    const body = new PassThrough();
    paced.pipe(body);
    // A chunk that fails verification ends the body with that error, so the upload stops.
    plain.sendTo(paced).catch((err: Error) => body.destroy(err));
    let stored: { sha256: string };
    try {
      stored = await content.rewrite(row.id, body, objectId);
    } catch (err) {
      await plain.cancel();
      throw err;
    }
    if (stored.sha256 !== row.content_sha256) {
      // Cannot happen with verified chunks; said loudly if it ever does.
      this.deps.logger.error('storage.rewrite_mismatch', { dataset_id: row.id, was: row.content_sha256 });
    }
    return true;
  }
}

function isGone(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}
