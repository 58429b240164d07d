import { spawn } from 'node:child_process';
import { rounder } from './report';
import { BUCKET, CREDS, PART_BYTES, QUEUE } from './s3-bench-settings';

const round = rounder(2);

/** A bare Node process with the AWS SDK only: its RSS idle (client made) and its peak over one Upload or GetObject. */
const BARE_PEAK = `
const fs = require('node:fs');
const [s3, storage, endpoint, file, op] = process.argv.slice(1);
const { S3Client, GetObjectCommand } = require(s3);
const { Upload } = require(storage);
const status = () => fs.readFileSync('/proc/self/status', 'utf8').split(String.fromCharCode(10));
const mib = (f) => Number(status().find((l) => l.startsWith(f + ':')).replace(/[^0-9]/g, '')) / 1024;
const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true,
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
const idle = mib('VmRSS');
(async () => {
  if (op === 'put') {
    const params = { Bucket: '${BUCKET}', Key: 'bare/process', Body: fs.createReadStream(file) };
    await new Upload({ client, params, partSize: ${PART_BYTES}, queueSize: ${QUEUE} }).done();
  } else {
    const o = await client.send(new GetObjectCommand({ Bucket: '${BUCKET}', Key: 'bare/process' }));
    for await (const piece of o.Body) void piece;
  }
  console.log(JSON.stringify({ idle: idle, peak: mib('VmHWM') }));
  client.destroy();
})();
`;

export async function bareSdkProcessPeak(
  endpoint: string,
  file: string,
  op: 'put' | 'get',
): Promise<Record<string, unknown>> {
  const args = [require.resolve('@aws-sdk/client-s3'), require.resolve('@aws-sdk/lib-storage'), endpoint, file, op];
  const child = spawn(process.execPath, ['-e', BARE_PEAK, ...args], {
    env: { PATH: process.env.PATH ?? '', ...CREDS },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  child.stdout.on('data', (piece: Buffer) => (out += piece.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`bare SDK process (${op}) exited with ${code}`);
  const r = JSON.parse(out) as { idle: number; peak: number };
  return {
    baseline: `bare AWS SDK ${op === 'put' ? 'Upload' : 'GetObject'} of the same bytes, in a process of its own`,
    idle_rss_mib: round(r.idle, 1),
    peak_rss_mib: round(r.peak, 1),
  };
}
