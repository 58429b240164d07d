/**
 * An object store's GET, signed on the main thread (credentials from the SDK's provider chain)
 * and sent by an AES-GCM worker, which reads the response and opens each chunk as it arrives:
 * the ciphertext never passes through the main thread. The request carries its credentials'
 * signature: never log it.
 */
export interface SignedRequest {
  protocol: 'http:' | 'https:';
  hostname: string;
  port: number | undefined;
  /** Path and query, encoded. */
  path: string;
  headers: Record<string, string>;
}

export interface RemoteRead {
  request: SignedRequest;
  /** Told once: the response's status is in (failed: not a success), or the request failed before one. */
  settled(failed: boolean): void;
  /** The store's own error for a failed GET (a 404 as its missing object), from the worker's report. */
  error(err: Error): Error;
}

/** What a worker reports of a GET the server refused: its status and the S3 error code, as the SDK would name it. */
export function httpError(e: { message: string; status?: number; name?: string }): Error {
  return Object.assign(new Error(e.message), {
    name: e.name ?? `HTTP ${e.status ?? '?'}`,
    $metadata: { httpStatusCode: e.status },
  });
}
