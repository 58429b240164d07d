import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { tempDir } from './harness';

// s3rver ships no types; this is the part of its API used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (opts: Record<string, unknown>) => {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
};

/**
 * A real S3-compatible server (s3rver) for a suite, on a free port with its files in a temp dir.
 * The SDK's default credential chain reads the environment, so the app under test finds the
 * keys s3rver accepts there. What s3rver lacks (ListMultipartUploads, a class change on
 * CopyObject, restores) the tests that need it say so.
 */
export async function startS3(): Promise<{
  endpoint: string;
  client: S3Client;
  /** s3rver's own files (unfinished multipart uploads among them). */
  dir: string;
  bucket(name: string): Promise<string>;
  env(location: string, bucket: string, prefix?: string): Record<string, string>;
  stop(): Promise<void>;
}> {
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  const dir = tempDir('dim-s3-');
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  return {
    endpoint,
    client,
    dir,
    async bucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
      return name;
    },
    // The keys too, for a child process (the SDK's default chain reads them from its environment).
    env: (location, bucket, prefix = 'dim') => ({
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      [`STORE_${location}`]: `s3://${bucket}/${prefix}`,
      [`STORE_${location}_ENDPOINT`]: endpoint,
      [`STORE_${location}_PATH_STYLE`]: 'true',
      [`STORE_${location}_REGION`]: 'us-east-1',
      // s3rver knows no GLACIER_IR (the default COLD class); ONEZONE_IA reads at once like it.
      [`STORE_${location}_CLASSES`]: 'HOT:STANDARD,WARM:STANDARD_IA,COLD:ONEZONE_IA',
    }),
    async stop() {
      client.destroy();
      await server.close();
    },
  };
}
