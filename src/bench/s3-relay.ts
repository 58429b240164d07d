import { spawn, type ChildProcess } from 'node:child_process';

/**
 * A second yardstick for the S3 download: the bare SDK's GetObject relayed by a plain Node HTTP
 * server, in a process of its own, to the same client. The bare GetObject has one hop (s3rver to
 * the client); any server that serves an object store's bytes has two (s3rver to it, it to its
 * client) on the same two cores. The relay pays that second hop and nothing else: no decryption,
 * no authentication, no catalog. Printed beside the bare GetObject, not instead of it.
 */
const RELAY = `
const http = require('node:http');
const { S3Client, GetObjectCommand } = require(process.argv[1]);
const [endpoint, bucket, key] = process.argv.slice(2);
const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true,
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
http.createServer((req, res) => {
  client.send(new GetObjectCommand({ Bucket: bucket, Key: key })).then((o) => {
    res.writeHead(200, { 'content-length': String(o.ContentLength) });
    o.Body.pipe(res);
  }, (err) => res.writeHead(500).end(String(err)));
}).listen(0, '127.0.0.1', function () { console.log('listening on http://localhost:' + this.address().port); });
`;

export interface S3Relay {
  /** The port the relay listens on: GET / answers the object's bytes. */
  port: number;
  child: ChildProcess;
}

/** Starts the relay for `bucket`/`key` on s3rver at `endpoint`. */
export async function startRelay(
  endpoint: string,
  bucket: string,
  key: string,
  listeningPort: (child: ChildProcess) => Promise<number>,
): Promise<S3Relay> {
  const child = spawn(process.execPath, ['-e', RELAY, require.resolve('@aws-sdk/client-s3'), endpoint, bucket, key], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return { port: await listeningPort(child), child };
}
