import { GetObjectCommand, type S3Client, type UploadPartCommand } from '@aws-sdk/client-s3';
import type { SignedRequest } from '../crypto';

export interface BuiltRequest {
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query?: Record<string, string | string[] | null | undefined>;
  headers: Record<string, string>;
}

/**
 * A GetObject as the client would send it, signed and not sent: the client's own middleware
 * builds it (endpoint, path or virtual-host addressing, credentials from its provider chain,
 * SigV4 in headers, which expire after 15 minutes) and a last middleware after the signer keeps
 * the request instead of sending it. The worker that reads the object sends it (remote-read.ts).
 * The request holds a signature: it is never logged.
 */
export async function signedGet(
  client: S3Client,
  bucket: string,
  key: string,
  range?: { start: number; end: number },
): Promise<SignedRequest> {
  const command = new GetObjectCommand({
    Bucket: bucket,
    Key: key,
    ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
  });
  return keptSigned(client, command);
}

/**
 * Sends `command` through the client's middleware up to and including the signer, and keeps the
 * signed request instead of sending it (for the worker to send). Shared by every signed request.
 */
export async function keptSigned(
  client: S3Client,
  command: GetObjectCommand | UploadPartCommand,
): Promise<SignedRequest> {
  let built: BuiltRequest | undefined;
  command.middlewareStack.addRelativeTo(
    () => (args: { request: unknown }) => {
      built = args.request as BuiltRequest;
      return Promise.resolve({ output: { $metadata: {} }, response: {} });
    },
    { name: 'dimKeepSignedRequest', relation: 'after', toMiddleware: 'httpSigningMiddleware', override: true },
  );
  await (command instanceof GetObjectCommand ? client.send(command) : client.send(command));
  if (!built) throw new Error('the S3 client built no request');
  if (built.protocol !== 'http:' && built.protocol !== 'https:')
    throw new Error(`the S3 endpoint's protocol ${built.protocol} is not HTTP`);
  return {
    protocol: built.protocol,
    hostname: built.hostname,
    port: built.port,
    path: built.path + queryString(built.query),
    headers: { ...built.headers },
  };
}

function queryString(query: BuiltRequest['query']): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === null || v === undefined) parts.push(encodeURIComponent(k));
    else
      for (const one of Array.isArray(v) ? v : [v]) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(one)}`);
  }
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}
