import { type GcmWorker, pickWorker } from './gcm-worker';
import { type SignedRequest, httpError } from './remote-read';

/** What a worker answers for a part it sent (gcm-worker-put.ts). */
interface PutReply {
  put?: number;
  etag?: string;
  /** The server's encryption headers: under KMS or a customer key an ETag is no MD5. */
  sse?: string;
  ssec?: string;
  putError?: { message: string; code?: string; status?: number; name?: string };
}

export interface SentPart {
  ETag: string;
  ServerSideEncryption?: string;
  SSECustomerAlgorithm?: string;
}

/** Senders are no jobs: their ids run below zero, apart from the jobs' own. */
let nextSender = -1;

/**
 * An object store's parts, sent by an AES-GCM worker straight from shared memory (the io ring
 * where the sealer or a move's verifier left them, or the held first part): the main thread only
 * signs each UploadPart (s3-signed-put.ts) and never touches the part's bytes, nor the SDK's
 * SHA-256 of them, nor its socket writes. One sender per upload; `stop()` it whatever happens.
 * The request carries a signature: it is never logged.
 */
export class PartSender {
  private readonly id = nextSender--;
  private readonly w: GcmWorker;
  private readonly waiting = new Map<number, { resolve: (r: SentPart) => void; reject: (err: Error) => void }>();
  private puts = 0;
  private stopped = false;
  private readonly onDeath = (err: Error): void => this.rejectAll(err);

  constructor() {
    this.w = pickWorker();
    this.w.attach(this.id, (m) => this.answer(m as PutReply));
    this.w.onDeath.add(this.onDeath);
  }

  /** Sends `request` with shared[pos, pos + len) as its body (wrapping); resolves with the part's ETag. */
  put(request: SignedRequest, shared: Buffer, pos: number, len: number): Promise<SentPart> {
    if (this.stopped) return Promise.reject(new Error('the part sender has stopped'));
    if (this.w.death) return Promise.reject(this.w.death);
    if (
      !(shared.buffer instanceof SharedArrayBuffer) ||
      shared.byteOffset !== 0 ||
      shared.length !== shared.buffer.byteLength
    )
      throw new RangeError('a part is sent from a whole buffer of shared memory');
    const n = this.puts++;
    return new Promise<SentPart>((resolve, reject) => {
      this.waiting.set(n, { resolve, reject });
      this.w.port.postMessage({ op: 'put', job: this.id, put: n, request, io: shared.buffer, pos, len });
    });
  }

  /** Cuts the parts still in flight (their puts reject) and gives the worker back. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.rejectAll(new Error('the part sender has stopped'));
    if (!this.w.death) this.w.port.postMessage({ op: 'putStop', job: this.id });
    this.w.onDeath.delete(this.onDeath);
    this.w.detach(this.id);
  }

  private answer(m: PutReply): void {
    if (m.put === undefined) return;
    const waiter = this.waiting.get(m.put);
    if (!waiter) return;
    this.waiting.delete(m.put);
    if (m.putError) waiter.reject(putError(m.putError));
    else waiter.resolve({ ETag: m.etag ?? '', ServerSideEncryption: m.sse, SSECustomerAlgorithm: m.ssec });
  }

  private rejectAll(err: Error): void {
    for (const { reject } of this.waiting.values()) reject(err);
    this.waiting.clear();
  }
}

/** The worker's failure as the SDK would have thrown it: an S3 error by its code and status, else a socket error by its code. */
function putError(e: NonNullable<PutReply['putError']>): Error {
  if (e.code === 'HTTP') return httpError(e);
  return Object.assign(new Error(e.message), e.code ? { code: e.code } : {});
}
