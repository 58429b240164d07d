import type { Readable } from 'node:stream';
import type { Location, Tier } from '../../db';
import type { ObjectBytes, RemoteRead } from '../crypto';
import type { ObjectWrite } from './s3-parts';

export type StoreKind = 'file' | 's3';

export interface ObjectHead {
  size: number;
  /** The store's version tag (an S3 ETag; size and mtime for a file). */
  etag: string;
  /** The ETag is no MD5 of the bytes (S3 under KMS or a customer key). */
  opaqueEtag?: boolean;
  /** The storage class (S3); undefined for a file. */
  storageClass: string | undefined;
  /** For a class that needs a restore: whether one is running, and until when a restored copy lasts. */
  restore?: { ongoing: boolean; expiresAt: number | undefined };
}

export interface ListedObject {
  key: string;
  size: number;
  /** When it was last written (ms), where the store says. */
  modifiedAt?: number;
}

/** What the pages and /readyz say about a store; never a credential. */
export interface StoreDescription {
  location: Location;
  kind: StoreKind;
  /** The folder, or s3://bucket/prefix. */
  where: string;
  /** The S3 endpoint; 'AWS' when none is set; undefined for a file store. */
  endpoint: string | undefined;
  shared: boolean;
}

/**
 * Where one location's encrypted objects live, by key (`<tier>/<object id>.enc`). Every byte the
 * product stores or reads goes through one of these; the bytes are always ciphertext. A key is
 * never overwritten in place: a new version gets a new key, so a crash leaves the old one whole.
 */
export interface ObjectStore {
  readonly location: Location;
  readonly kind: StoreKind;
  describe(): StoreDescription;
  /** Stores `body` under `key` (the tier's storage class on S3); resolves once it is durable. */
  put(key: string, body: Readable, tier: Tier, length?: number): Promise<{ size: number; sha256: string }>;
  /**
   * A streamed write of `bytes` (as they are made, from a shared ring) under `key`: the object
   * appears only at the write's `finish`. Object stores have it; a file store is written by path.
   */
  write?(key: string, tier: Tier, bytes: ObjectBytes): ObjectWrite;
  /** The io ring a `write` wants: whole parts, enough for those in flight and one filling. */
  readonly ringBytes?: number;
  /** The bytes of `key`, or the inclusive range of them; rejects with `missing` if there is no such object. */
  get(key: string, range?: { start: number; end: number }): Promise<Readable>;
  /** The same read as a signed GET for a worker to send and read (object stores over HTTP). */
  remoteGet?(key: string, range?: { start: number; end: number }): Promise<RemoteRead>;
  head(key: string): Promise<ObjectHead | undefined>;
  /** True if it was there. */
  delete(key: string): Promise<boolean>;
  /** Every key under `prefix` (within the store), with its size. */
  list(prefix?: string): AsyncIterable<ListedObject>;
  /** A copy inside the store under a new key, in the tier's class; no byte passes through the process on S3. */
  /** On S3: the ETag the server gave the copy, and whether it was made in parts (then it is no MD5 of the whole). */
  copy(from: string, to: string, tier: Tier): Promise<{ etag: string | undefined; multipart: boolean } | undefined>;
  /** Throws (naming what failed) if the store cannot be written and read now. */
  probe(): Promise<void>;
  /**
   * Removes multipart uploads left by crashes: how many, or undefined when the server cannot
   * list them. A file store has none.
   */
  abortAbandoned(olderThanMs: number): Promise<number | undefined>;
  /** Starts a restore (a copy kept `days` days) of an object in a class that needs one; resolves with when it is expected. */
  restore?(key: string, days?: number): Promise<{ readyAt: number }>;
}

/** Thrown by `get` for a key the store does not hold. */
export class MissingObject extends Error {
  readonly code = 'ENOENT';
  constructor(readonly key: string) {
    super(`no object ${key}`);
    this.name = 'MissingObject';
  }
}
