import { type S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import type { SignedRequest } from '../crypto';
import { type BuiltRequest, keptSigned } from './s3-signed-get';

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
  const signed = await keptSigned(client, command);
  // The worker writes the body at once; it waits for no 100 Continue.
  delete signed.headers.Expect;
  delete signed.headers.expect;
  return signed;
}
