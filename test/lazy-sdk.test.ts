import fs from 'node:fs';
import path from 'node:path';
import { spawnApp } from './support/child-app';
import { tempDir, waitFor } from './support/harness';
import { call } from './support/http-client';
import { startS3 } from './support/s3-server';

const PROBE = path.resolve(__dirname, 'support/module-probe.js');

/** Starts `npm start`'s server, lets it get ready, stops it, and lists the AWS SDK files it had loaded. */
async function sdkFilesLoaded(env: Record<string, string>): Promise<string[]> {
  const dir = tempDir('dim-lazy-');
  const out = path.join(dir, 'modules.json');
  const app = await spawnApp({
    DATA_DIR: path.join(dir, 'data'),
    NODE_OPTIONS: `--require ${PROBE}`,
    MODULE_PROBE_OUT: out,
    ...env,
  });
  try {
    await waitFor(async () => (await call(app.url, 'GET', '/readyz')).status === 200, 'readiness', 30_000, 50);
    // The pages and the metrics probe every store too: still no SDK without an S3 store.
    expect((await call(app.url, 'GET', '/metrics')).status).toBe(200);
  } finally {
    app.proc.kill('SIGTERM');
    await app.exited;
  }
  const files = JSON.parse(fs.readFileSync(out, 'utf8')) as string[];
  expect(files.some((f) => f.endsWith(path.join('dist', 'src', 'main.js')))).toBe(true);
  return files.filter((f) => f.includes(`${path.sep}@aws-sdk${path.sep}`));
}

describe('the AWS SDK is loaded only for an S3 store', () => {
  test('when no location has an S3 store, then a ready server has loaded none of the AWS SDK', async () => {
    expect(await sdkFilesLoaded({})).toEqual([]);
  });

  test('when a location keeps its bytes in S3, then the server loads the SDK and is ready', async () => {
    const s3 = await startS3();
    try {
      await s3.bucket('lazy');
      const files = await sdkFilesLoaded(s3.env('PUBLIC', 'lazy'));
      expect(files.some((f) => f.includes(`${path.sep}client-s3${path.sep}`))).toBe(true);
    } finally {
      await s3.stop();
    }
  });
});
