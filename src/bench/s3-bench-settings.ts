/** What the S3 bench's product and bare-SDK steps share: the bucket, s3rver's credentials, the multipart shape. */
export const BUCKET = 'dim-bench';
export const CREDS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };
/** The product's own multipart settings (s3-object-store.ts), so the bare SDK moves bytes the same way. */
export const PART_BYTES = 8 * 1024 * 1024;
export const QUEUE = 2;
