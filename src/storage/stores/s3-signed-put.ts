import { type S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import type { SignedRequest } from '../crypto';
import { queryString } from './s3-signed-get';

interface BuiltRequest {
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query?: Record<string, string | string[] | null | undefined>;
  headers: Record<string, string>;
}

/**
 * An UploadPart as the client would send it, signed and not sent (as s3-signed-get.ts does for a
 * GET): the client's own middleware builds and signs it, and a worker sends the part's bytes
 * (part-sender.ts). The payload is signed as UNSIGNED-PAYLOAD, so the main thread never hashes
 * the part's bytes; they stay bound to the signature by their Content-MD5, a signed header that
 * AWS, MinIO and Ceph check against the bytes received. The request holds a signature: it is
 * never logged.
 */
export async function signedUploadPart(
  client: S3Client,
  p: { bucket: string; key: string; uploadId: string; partNumber: number; length: number; md5: Buffer },
): Promise<SignedRequest> {
  const command = new UploadPartCommand({
    Bucket: p.bucket,
    Key: p.key,
    UploadId: p.uploadId,
    PartNumber: p.partNumber,
    ContentLength: p.length,
    ContentMD5: p.md5.toString('base64'),
  });
  command.middlewareStack.add(
    (next) => (args) => {
      (args.request as BuiltRequest).headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      return next(args);
    },
    { step: 'build', name: 'dimUnsignedPayload', override: true },
  );
  let built: BuiltRequest | undefined;
  command.middlewareStack.addRelativeTo(
    () => (args: { request: unknown }) => {
      built = args.request as BuiltRequest;
      return Promise.resolve({ output: { $metadata: {} }, response: {} });
    },
    { name: 'dimKeepSignedRequest', relation: 'after', toMiddleware: 'httpSigningMiddleware', override: true },
  );
  await client.send(command);
  if (!built) throw new Error('the S3 client built no request');
  if (built.protocol !== 'http:' && built.protocol !== 'https:')
    throw new Error(`the S3 endpoint's protocol ${built.protocol} is not HTTP`);
  const headers = { ...built.headers };
  // The worker writes the body at once; it waits for no 100 Continue.
  delete headers.Expect;
  delete headers.expect;
  return {
    protocol: built.protocol,
    hostname: built.hostname,
    port: built.port,
    path: built.path + queryString(built.query),
    headers,
  };
}
