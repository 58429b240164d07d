import type fsp from 'node:fs/promises';
import { ReadPlan, aadOf, nonceOf, plaintextSize } from './chunked';
import { CryptoError } from './errors';
import { GcmJob } from './gcm-worker';
import { openLabel, type ObjectLabel } from './label';
import { type RangeSource, readPrefix } from './stream-open';

/** Chunks asked of the worker ahead of the ones it has written: enough to keep its socket busy. */
const AHEAD = 8;

export interface FetchToFile {
  dek: Buffer;
  /** The object (its stored size, a ranged read for its header, and the signed GET for the rest). */
  src: RangeSource;
  /** An open, empty file: the copy, byte for byte, once this resolves. Not synced here. */
  file: fsp.FileHandle;
  /** Before each chunk is asked for, with its sealed length: the bandwidth limit and cancellation. */
  gate(bytes: number): Promise<void>;
  /** As chunks land (verified and written), with the sealed bytes written so far. */
  landed(bytes: number): Promise<void>;
}

/**
 * A move's copy of an object from an object store into a file, the bulk of it off the main
 * thread: the header and label are read here (a small ranged GET) and the label authenticated;
 * then a worker sends the signed GET of the rest, authenticates each chunk as its bytes arrive
 * (the plaintext dropped) and writes its sealed bytes at their place in the file. The main thread
 * only asks for chunks, under `gate`, and counts them. A chunk that fails its tag, or a response
 * that ends short or runs long, fails the copy with a CryptoError naming it; the file is then
 * the caller's to remove (it is published only once this resolved). Memory: one socket read in
 * the worker and a few small buffers, whatever the size.
 */
export async function fetchToFile(
  f: FetchToFile,
): Promise<{ label: ObjectLabel | undefined; plaintextSize: number; written: number }> {
  const { src } = f;
  if (!src.remote) throw new Error('the source has no signed GET');
  const prefix = await readPrefix(src);
  const label = prefix.label ? openLabel(prefix.header, prefix.label, f.dek) : undefined;
  const head = prefix.label ? Buffer.concat([prefix.header, prefix.label]) : prefix.header;
  if (head.length !== prefix.dataStart)
    throw new CryptoError('BAD_HEADER', 'the header does not end where its data starts');
  await f.file.write(head, 0, head.length, 0);
  const size = plaintextSize(src.size, prefix.chunkSize, prefix.dataStart);
  const plan = new ReadPlan(prefix.chunkSize, size, undefined, prefix.dataStart);
  const remote = await src.remote(prefix.dataStart, src.size - 1);
  let answered = false;
  const settle = (failed: boolean): void => {
    if (!answered) remote.settled(failed);
    answered = true;
  };
  const job = new GcmJob(f.file.fd, f.dek, 64 * 1024, { onStatus: (status) => settle(status >= 300) });
  let ended = false;
  try {
    job.fetch(remote.request, src.size - prefix.dataStart);
    const requests: number[] = [];
    let landed = 0;
    const land = async (upTo: number): Promise<void> => {
      if (upTo <= landed) return;
      for (; landed < upTo; landed++) await job.waitFor(requests[landed]!);
      const i = plan.first + landed - 1;
      await f.landed(plan.sealedPosition(i) + plan.sealedLength(i));
    };
    for (let i = plan.first; i <= plan.last; i++) {
      const len = plan.sealedLength(i);
      await f.gate(len);
      const final = i === plan.last;
      requests.push(
        job.openFetched(i, len, nonceOf(prefix.header, i), aadOf(prefix.header, i, final), -1, plan.sealedPosition(i)),
      );
      if (requests.length - landed > AHEAD) await land(requests.length - AHEAD);
    }
    await land(requests.length);
    ended = true;
    await job.end();
    return { label, plaintextSize: size, written: src.size };
  } catch (err) {
    settle(true);
    throw remote.error(err as Error);
  } finally {
    if (!ended) await job.abort();
  }
}
