import type { Location, Tier } from '../../db';
import type { ObjectLabel } from '../crypto';

export interface Placement {
  location: Location;
  tier: Tier;
}

/** What a move tells the copy, and hears from it, while it runs. */
export interface CopyControl {
  moveId: number;
  /** The stored (encrypted) size of the source: what the copy counts against. */
  total: number;
  signal: AbortSignal;
  /** Called as bytes land, in order, with the count so far; awaited. */
  landed(bytes: number): Promise<void>;
  /** Awaited once the last byte is written, before the tail of the verification and the flush. */
  copied(): Promise<void>;
  /** The source's data key and recorded plaintext size: for a copy that authenticates the source as it passes. */
  dek: Buffer;
  plaintextBytes: number;
}

/** A verified copy that nobody can see yet: published under the object's name, or discarded. */
export interface StagedCopy {
  /** Every byte of the copy matched the source. */
  readonly same: boolean;
  /** The plaintext size the copy's own framing declares. */
  plaintextSize(): Promise<number>;
  /**
   * Re-seals the copy's label (format version 2) with what `change` makes of it, durably; false
   * for a version 1 object, which has none. Done after the comparison, before `publish()`.
   */
  relabel(dek: Buffer, change: (label: ObjectLabel) => ObjectLabel): Promise<boolean>;
  /** Makes the copy the object at its placement, durably. */
  publish(): Promise<void>;
  /** Removes the staged copy if it is still there. */
  discard(): Promise<void>;
  /**
   * Where the store checks the source during the copy (`checksSourceInStage`): what is wrong
   * with it, or undefined if it is whole.
   */
  readonly sourceDamage?: string;
}

/**
 * The operations a move needs from where objects are stored. The encrypted file tree is the one
 * kind today; an object store would implement the same six (a multipart copy staged under a
 * temporary key, published by a copy or rename) and the move's journal would not change.
 */
export interface MoveStore {
  /** The stored (encrypted) size of the object at `at`. */
  size(at: Placement, objectId: string): Promise<number>;
  /** Copies the object from `from` to a staged copy at `to`, compared with the source as it lands. */
  stage(from: Placement, to: Placement, objectId: string, control: CopyControl): Promise<StagedCopy>;
  /**
   * Reads the object at `at` and authenticates every chunk with its data key: undefined if all
   * of it is whole and holds `plaintextBytes`, else what is wrong with it. `pace` is awaited
   * with the plaintext bytes authenticated so far, so the reading can trail a copy.
   */
  authenticate(
    at: Placement,
    objectId: string,
    dek: Buffer,
    plaintextBytes: number,
    pace: (authenticated: number) => Promise<void>,
    signal: AbortSignal,
  ): Promise<string | undefined>;
  /**
   * True where `stage` itself checks the source (a server-side copy, or a stream authenticated as
   * it passes): `authenticate` is then not called for the move, which would read the source again.
   */
  checksSourceInStage?(from: Placement, to: Placement): boolean;
  /** Removes the object at `at` if it is there; true if it was. */
  remove(at: Placement, objectId: string): Promise<boolean>;
  /**
   * Takes the source away after the switch. Resolves once the object no longer has its name; a
   * remainder that can be freed later (a large file) comes back as a Leftover.
   */
  retire(at: Placement, objectId: string, size: number): Promise<Leftover | undefined>;
}

/** What is left of a retired source to free once the move is done. */
export interface Leftover {
  /** For the log, should freeing it fail. */
  name: string;
  remove(): Promise<void>;
}
