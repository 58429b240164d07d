import os from 'node:os';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { CryptoError, chunkTampered, chunkTruncated } from './errors';
import { CONTROL_WORDS, DONE, FAILED, WORKER_SOURCE } from './gcm-worker-source';
import { type SignedRequest, httpError } from './remote-read';
import { giveBackRing, takeRing } from './rings';
import { passedThrough } from './young-garbage';

export { giveBackRing, takeRing } from './rings';

/**
 * AES-256-GCM and its file I/O on worker threads, for the bulk paths (upload and download).
 *
 * Why: every Buffer the main thread allocates counts as "external memory", and V8 answers every
 * few tens of MiB of it with a collection of the whole server heap, several threads' worth of CPU
 * each time. Node's cipher allocates a new buffer for all it outputs, so sealing or opening on
 * the main thread doubled the GC work of an upload and was nearly all of a download's. Here the
 * plaintext lives in a ring of shared memory that the main thread fills (upload) or sends from
 * (download) without allocating; a worker's own allocations are collected on its own, tiny heap;
 * and the cipher runs on another core.
 *
 * A worker knows nothing of the file format: the main thread computes every nonce, AAD,
 * position and length (off-thread.ts, with chunked.ts) and asks, per job, for one primitive per
 * chunk, in order:
 *   write  bytes to the file (the header)
 *   seal   ring[at, at+len) with (nonce, aad); append ciphertext ‖ tag to the file. A job
 *          begun with a SHA-256 first adds those plaintext bytes to it (seals come in order),
 *          so the upload's hash runs beside the main thread instead of on it; the digest comes
 *          back with the job's end
 *   open   len sealed bytes at file position pos with (nonce, aad); only if the tag verifies,
 *          copy the plaintext into ring[at, ...). Unverified plaintext never reaches the ring.
 *   fetch  send a signed GET (an object store's read) and read its response here: the opens
 *          that follow take their sealed bytes from it as they arrive (gcm-worker-fetch.ts)
 * Completed requests are counted in the job's shared control block (no message back per
 * chunk); a failure is posted as a message and makes the job's waits reject.
 *
 * Jobs share a small pool of workers: each request takes a worker a millisecond or so, so a
 * job whose client is slow never holds one, and any number of transfers can run at once.
 */

/** One worker per spare core (the main thread keeps one), at least one, at most four. */
const WORKERS = Math.max(1, Math.min(4, os.availableParallelism() - 1));
/** A worker with no job is kept this long for the next one (starting one takes ~30 ms). */
const IDLE_MS = 1_000;
/** MD5 results a job can hold at once (parts being digested or uploaded). */
export const DIGEST_SLOTS = 8;
type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

interface WorkerError {
  message: string;
  code?: string;
  /** The chunk the failed request was about (opens). */
  index?: number;
  /** A GET the server refused (code 'HTTP'): its status and the S3 error code. */
  status?: number;
  name?: string;
}

interface WorkerMessage {
  job: number;
  ended?: boolean;
  /** With `ended`, for a job begun with a SHA-256 that did not fail: the hex digest of all it sealed. */
  sha256?: string;
  error?: WorkerError;
  /** A GET the worker sent has its response's status. */
  status?: number;
}

/** A worker thread and the jobs it serves. */
export class GcmWorker {
  readonly port: MessagePort;
  readonly worker: Worker;
  /** Set once the worker has died. */
  death: Error | undefined;
  /** Message handlers of the jobs on this worker. */
  readonly jobs = new Map<number, (m: WorkerMessage) => void>();
  /**
   * Told when the worker dies. (Not a promise that waits race against: every race would leave a
   * reaction on it for the worker's whole life, a leak that grows with every chunk.)
   */
  readonly onDeath = new Set<(err: Error) => void>();
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly onExit: (w: GcmWorker) => void) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      name: 'aes-gcm',
      workerData: { port: port2 },
      transferList: [port2],
      // The worker's heap holds almost nothing; a small young generation keeps its footprint small.
      resourceLimits: { maxYoungGenerationSizeMb: 2 },
    });
    this.port.on('message', (m: WorkerMessage) => this.jobs.get(m.job)?.(m));
    const die = (err: Error): void => {
      if (this.death) return;
      this.death = err;
      this.onExit(this);
      for (const listener of this.onDeath) listener(err);
    };
    this.worker.once('error', die);
    this.worker.once('exit', (code) => die(new Error(`the AES-GCM worker exited (code ${code})`)));
    this.worker.unref();
    this.port.unref();
  }

  attach(id: number, onMessage: (m: WorkerMessage) => void): void {
    clearTimeout(this.idleTimer);
    if (this.jobs.size === 0) {
      this.worker.ref();
      this.port.ref();
    }
    this.jobs.set(id, onMessage);
  }

  detach(id: number): void {
    this.jobs.delete(id);
    if (this.jobs.size > 0 || this.death) return;
    // Unref'd: an idle worker never keeps the process alive.
    this.worker.unref();
    this.port.unref();
    this.idleTimer = setTimeout(() => this.retire(), IDLE_MS).unref();
  }

  /**
   * Stops an idle worker. It leaves the pool before `terminate()` is asked: terminating takes a
   * while (longer under load), and a job handed to it meanwhile would die with it (exit code 1).
   */
  private retire(): void {
    if (this.jobs.size > 0 || this.death) return;
    this.death = new Error('the AES-GCM worker was retired while idle');
    this.onExit(this);
    void this.worker.terminate();
  }
}

const workers: GcmWorker[] = [];

/** The worker with the fewest jobs, started if the pool is not full. */
export function pickWorker(): GcmWorker {
  const live = workers.filter((w) => !w.death);
  const least = live.reduce<GcmWorker | undefined>((a, w) => (!a || w.jobs.size < a.jobs.size ? w : a), undefined);
  if (least && (least.jobs.size === 0 || live.length >= WORKERS)) return least;
  const w = new GcmWorker((gone) => {
    const at = workers.indexOf(gone);
    if (at >= 0) workers.splice(at, 1);
  });
  workers.push(w);
  return w;
}

let nextJobId = 1;

/**
 * One upload's or download's use of a worker: its own ring of `ringBytes`, its own control block,
 * and requests numbered from 0 in the order they are made. The caller must `end()` (or `abort()`)
 * it whatever happens.
 */
export class GcmJob {
  readonly ring: Buffer;
  private readonly id = nextJobId++;
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
  private readonly w: GcmWorker;
  private requests = 0;
  private failure: Error | undefined;
  private finished = false;
  private ended: (() => void) | undefined;
  /** Waits in progress; woken with an error if the worker dies or the job stops. */
  private readonly interrupts = new Set<(err: Error) => void>();
  private readonly onDeath = (err: Error): void => this.interrupt(err);

  /**
   * A job for the open file descriptor `fd`, which must outlive the job. `sha256`: the worker
   * hashes the plaintext it seals; the digest is `sha256` once `end()` has resolved.
   */
  constructor(
    fd: number,
    dek: Buffer,
    ringBytes: number,
    opts: { sha256?: boolean; io?: Buffer; onStatus?: (status: number) => void } = {},
  ) {
    this.ring = takeRing(ringBytes);
    this.io = opts.io;
    this.w = pickWorker();
    this.w.attach(this.id, (m) => {
      if (m.status !== undefined) opts.onStatus?.(m.status);
      if (m.error) this.failure ??= jobError(m.error);
      if (m.ended) {
        this.sha256 = m.sha256;
        this.ended?.();
      }
    });
    this.w.onDeath.add(this.onDeath);
    this.post({
      op: 'begin',
      ring: this.ring.buffer,
      control: this.control.buffer,
      fd,
      key: own(dek),
      sha256: opts.sha256 === true,
      ...(opts.io ? { io: opts.io.buffer, digests: this.digests.buffer } : {}),
    });
  }

  /**
   * An object store's bytes (SharedArrayBuffer-backed), for a job with no file: seals append
   * their ciphertext here, opens read sealed chunks from here, and `md5` digests parts of it.
   */
  readonly io: Buffer | undefined;
  private readonly digests = Buffer.from(new SharedArrayBuffer(DIGEST_SLOTS * 16));

  /** The hex SHA-256 of the plaintext sealed (a job begun with `sha256`), once `end()` has resolved. */
  sha256: string | undefined;

  /** Requests completed so far: request n is done once this exceeds n. */
  get completed(): number {
    return Atomics.load(this.control, DONE);
  }

  write(bytes: Buffer): number {
    this.post({ op: 'write', bytes: own(bytes) });
    return this.requests++;
  }

  /** Seals ring[at, at+len) (its plaintext came through this thread: see passedThrough). */
  seal(at: number, len: number, nonce: Buffer, aad: Buffer): number {
    passedThrough(len);
    this.post({ op: 'seal', at, len, nonce: own(nonce), aad: own(aad) });
    return this.requests++;
  }

  open(index: number, pos: number, len: number, nonce: Buffer, aad: Buffer, at: number): number {
    this.post({ op: 'open', index, pos, len, nonce: own(nonce), aad: own(aad), at });
    return this.requests++;
  }

  /** Seals ring[at, at+len) into the io ring at `out` (ciphertext ‖ tag, wrapping). */
  sealTo(at: number, len: number, nonce: Buffer, aad: Buffer, out: number): number {
    passedThrough(len);
    this.post({ op: 'seal', at, len, nonce: own(nonce), aad: own(aad), out });
    return this.requests++;
  }

  /**
   * Opens the sealed chunk at io ring offset `pos`; its plaintext goes to ring[at, ...), or
   * nowhere with `at` < 0 (the chunk is only authenticated).
   */
  openIo(index: number, pos: number, len: number, nonce: Buffer, aad: Buffer, at: number): number {
    passedThrough(len);
    this.post({ op: 'open', io: true, index, pos, len, nonce: own(nonce), aad: own(aad), at });
    return this.requests++;
  }

  /**
   * Has the worker send `request` and read its response (`expected` sealed bytes) itself: the
   * job's opens then take their bytes from it, in order, as they arrive (gcm-worker-fetch.ts).
   */
  fetch(request: SignedRequest, expected: number): void {
    this.post({ op: 'fetch', request, expected });
  }

  /**
   * Opens the next chunk of the fetched response into ring[at, ...), or nowhere with `at` < 0
   * (its bytes never pass this thread); with `filePos`, its sealed bytes are also written to the
   * job's file there.
   */
  openFetched(index: number, len: number, nonce: Buffer, aad: Buffer, at: number, filePos?: number): number {
    this.post({ op: 'open', index, len, nonce: own(nonce), aad: own(aad), at, pos: filePos });
    return this.requests++;
  }

  /** Reads `len` bytes of the file `fd` at `pos` into the io ring at `out` (wrapping): a move's source, read by the worker. */
  readIo(fd: number, pos: number, len: number, out: number): number {
    this.post({ op: 'readIo', fd, pos, len, out });
    return this.requests++;
  }

  /** The MD5 of io[pos, pos+len) (wrapping), readable with `digest(slot)` once the request completed. */
  md5(pos: number, len: number, slot: number): number {
    this.post({ op: 'md5', pos, len, slot: slot % DIGEST_SLOTS });
    return this.requests++;
  }

  digest(slot: number): Buffer {
    const at = (slot % DIGEST_SLOTS) * 16;
    return Buffer.from(this.digests.subarray(at, at + 16));
  }

  /** Resolves once request `n` has completed; rejects if any request failed or the worker died. */
  async waitFor(n: number): Promise<void> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.finished) throw new Error('the AES-GCM job has ended');
      if (this.w.death) throw this.w.death;
      if (Atomics.load(this.control, FAILED)) {
        // The message with the reason is on its way; it arrives on a later turn of the loop.
        await this.interruptible(new Promise((resolve) => setImmediate(resolve)));
        continue;
      }
      const done = this.completed;
      if (done > n) return;
      const wait = waitAsync(this.control, DONE, done);
      if (wait.async) await this.interruptible(wait.value);
    }
  }

  /** Waits for every request, then releases the worker. Rejects with the first failure. */
  async end(): Promise<void> {
    try {
      if (this.requests > 0) await this.waitFor(this.requests - 1);
    } finally {
      await this.stop(true);
    }
  }

  /**
   * Gives up: the job's results are ignored. `ringInUse`: something outside the job may still
   * read the ring (socket writes of a cancelled download), so it is not reused.
   */
  abort(opts: { ringInUse?: boolean } = {}): Promise<void> {
    return this.stop(!opts.ringInUse);
  }

  private post(message: Record<string, unknown>): void {
    this.w.port.postMessage({ job: this.id, ...message });
  }

  /** `p`, unless the worker dies or the job stops first. */
  private interruptible<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const interrupt = (err: Error): void => reject(err);
      this.interrupts.add(interrupt);
      p.then(
        (value) => {
          this.interrupts.delete(interrupt);
          resolve(value);
        },
        (err: Error) => {
          this.interrupts.delete(interrupt);
          reject(err);
        },
      );
    });
  }

  private interrupt(err: Error): void {
    for (const interrupt of this.interrupts) interrupt(err);
    this.interrupts.clear();
  }

  /** Resolves once the worker has dropped the job: it no longer touches the file or the ring. */
  private async stop(ringReusable: boolean): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.interrupt(new Error('the AES-GCM job has ended'));
    const dropped = await new Promise<boolean>((resolve) => {
      if (this.w.death) return resolve(false);
      const onDeath = (): void => resolve(false);
      this.w.onDeath.add(onDeath);
      this.ended = () => {
        this.w.onDeath.delete(onDeath);
        resolve(true);
      };
      this.post({ op: 'end' });
    });
    this.w.onDeath.delete(this.onDeath);
    this.w.detach(this.id);
    if (dropped && ringReusable) giveBackRing(this.ring);
  }
}

/**
 * `b`, or a copy of it with an ArrayBuffer of its own: posting a view clones its whole
 * ArrayBuffer, which for a small Buffer can be Node's shared 8 KiB pool, other data included.
 */
function own(b: Buffer): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : new Uint8Array(b);
}

/** The worker's failure as the error the main thread would have thrown (errno codes kept). */
function jobError(e: WorkerError): Error {
  if (e.code === 'HTTP') return httpError(e);
  if (e.code === 'TAMPERED' && e.index === undefined) return new CryptoError('TAMPERED', e.message);
  if (e.code === 'TAMPERED') return chunkTampered(e.index ?? -1);
  if (e.code === 'TRUNCATED') return chunkTruncated(e.index ?? -1);
  return Object.assign(new Error(e.message), e.code ? { code: e.code } : {});
}
