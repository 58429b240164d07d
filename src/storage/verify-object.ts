import { Writable } from 'node:stream';
import { CryptoError, DecryptedFile, type PlainBody } from './crypto';

/**
 * Reads the encrypted object `file` (a path, or an opener for an object in a store) and authenticates every chunk with its data key: undefined
 * if all of it is whole and holds `plaintextBytes`, else what is wrong with it. `pace` is
 * awaited with the plaintext bytes authenticated so far (to trail a copy, or keep to a budget).
 * Other failures (the file is gone, I/O) are thrown. After `signal` aborts it resolves early,
 * having proved nothing.
 */
export async function authenticateObject(
  file: string | (() => Promise<PlainBody>),
  dek: Buffer,
  plaintextBytes: number,
  pace: (authenticated: number, chunk: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<string | undefined> {
  try {
    const body = typeof file === 'string' ? await DecryptedFile.open(file, dek) : await file();
    // A cancelled read ends quietly: the caller knows from its signal that it proved nothing.
    const stop = (): void => void body.cancel();
    signal?.addEventListener('abort', stop, { once: true });
    if (body.size !== plaintextBytes) {
      await body.cancel();
      return `the stored object holds ${body.size} bytes, the record says ${plaintextBytes}`;
    }
    // Opened on the worker threads like a download; the plaintext goes nowhere.
    let authenticated = 0;
    const sink = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        authenticated += chunk.length;
        pace(authenticated, chunk.length).then(
          () => cb(),
          (err: Error) => cb(err),
        );
      },
    });
    try {
      await body.sendTo(sink);
    } finally {
      signal?.removeEventListener('abort', stop);
    }
    return undefined;
  } catch (err) {
    if (err instanceof CryptoError) return err.message;
    throw err;
  }
}
