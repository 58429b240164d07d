import type { Readable, Writable } from 'node:stream';
import { HEADER_BYTES, ReadPlan, parseHeader, plaintextSize } from './chunked';
import { CryptoError } from './errors';
import { LABEL_BYTES, labelKey, openLabel, type LabelKey, type ObjectLabel } from './label';
import type { RemoteRead } from './remote-read';
import { RingOpener } from './ring-open';

/** An object read by byte ranges (an S3 GET with Range): `read` is inclusive of `end`. */
export interface RangeSource {
  /** The stored (encrypted) size. */
  size: number;
  read(start: number, end: number): Promise<Readable>;
  /** The same read as a signed GET a worker sends itself (an S3 store): the bulk bytes never pass this thread. */
  remote?(start: number, end: number): Promise<RemoteRead>;
}

/** Verified plaintext, whole or a range, ready to be sent: what a download answers with. */
export interface PlainBody {
  readonly size: number;
  readonly length: number;
  /** Plaintext bytes handed to `out` so far. */
  readonly sent: number;
  sendTo(out: Writable): Promise<void>;
  cancel(): Promise<void>;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const piece of stream) parts.push(piece as Buffer);
  return Buffer.concat(parts);
}

/** The object's prefix and (version 2) label bytes, read with one ranged request. */
export async function readPrefix(
  src: RangeSource,
): Promise<{ header: Buffer; label: Buffer | undefined; chunkSize: number; dataStart: number }> {
  if (src.size < HEADER_BYTES) throw new CryptoError('TRUNCATED', 'the file is truncated (incomplete header)');
  const head = await readAll(await src.read(0, Math.min(src.size, HEADER_BYTES + LABEL_BYTES) - 1));
  const parsed = parseHeader(head);
  const header = head.subarray(0, HEADER_BYTES);
  if (parsed.version === 1) return { header, label: undefined, ...parsed };
  if (head.length < HEADER_BYTES + LABEL_BYTES)
    throw new CryptoError('TRUNCATED', 'the file is truncated (incomplete label)');
  return { header, label: head.subarray(HEADER_BYTES, HEADER_BYTES + LABEL_BYTES), ...parsed };
}

/** The plaintext size an object's length and framing imply ('TRUNCATED' if none). */
export async function plaintextSizeOfSource(src: RangeSource): Promise<number> {
  const p = await readPrefix(src);
  return plaintextSize(src.size, p.chunkSize, p.dataStart);
}

/** The label of an object read by ranges: its key before any is at hand, and the label once opened. */
export async function readRangeHeader(
  src: RangeSource,
): Promise<{ key: LabelKey | undefined; open(dek: Buffer): ObjectLabel }> {
  const { header, label } = await readPrefix(src);
  return {
    key: label ? labelKey(label) : undefined,
    open: (dek) => {
      if (!label) throw new Error('a version 1 object has no label');
      return openLabel(header, label, dek);
    },
  };
}

/**
 * Verified plaintext of an object read by ranges (an object store): only the chunks the range
 * covers are fetched, in one ranged read, and each is authenticated (its final flag known from
 * the object's size) on a worker thread while the next ones arrive (ring-open.ts); where the
 * source gives a signed GET, the worker sends it and reads the response itself. The source is
 * read no faster than `out` takes the plaintext.
 */
export class DecryptedStream implements PlainBody {
  private cancelled = false;
  private source: Readable | undefined;
  private opener: RingOpener | undefined;

  private constructor(
    private readonly src: RangeSource,
    private readonly header: Buffer,
    private readonly dek: Buffer,
    private readonly plan: ReadPlan,
    private readonly chunkSize: number,
    readonly size: number,
  ) {}

  /** Reads and checks the header (a version 2 label is authenticated with `dek`). */
  static async open(src: RangeSource, dek: Buffer, range?: { start: number; end: number }): Promise<DecryptedStream> {
    const p = await readPrefix(src);
    if (p.label) openLabel(p.header, p.label, dek);
    const size = plaintextSize(src.size, p.chunkSize, p.dataStart);
    const plan = new ReadPlan(p.chunkSize, size, range, p.dataStart);
    return new DecryptedStream(src, p.header, dek, plan, p.chunkSize, size);
  }

  get length(): number {
    return this.plan.length;
  }

  get sent(): number {
    return this.opener?.sent ?? 0;
  }

  async sendTo(out: Writable): Promise<void> {
    if (this.cancelled) return;
    const { plan } = this;
    const from = plan.sealedPosition(plan.first);
    const to = plan.sealedPosition(plan.lastNeeded) + plan.sealedLength(plan.lastNeeded) - 1;
    try {
      const remote = this.src.remote ? await this.src.remote(from, to) : undefined;
      const source = remote ? undefined : (this.source = await this.src.read(from, to));
      if (this.cancelled) return;
      const opener = (this.opener = new RingOpener(this.header, this.dek, plan, this.chunkSize, remote));
      try {
        await (source ? opener.pump(source, out) : opener.pumpRemote(out));
      } finally {
        if (this.cancelled || opener.cancelled) await opener.stop();
      }
    } catch (err) {
      await this.opener?.stop();
      if (!this.cancelled) throw err;
    } finally {
      this.source?.destroy();
    }
  }

  async cancel(): Promise<void> {
    this.cancelled = true;
    this.source?.destroy();
    await this.opener?.stop();
  }
}
