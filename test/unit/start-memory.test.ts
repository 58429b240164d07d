import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** What the server holds from its start (the compiled server, as `npm start` runs it). */
const DIST = path.resolve(__dirname, '../../dist/src');

function run(code: string): string {
  return execFileSync(process.execPath, ['-e', code], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
}

describe('start-up memory', () => {
  it('when the state is SQLite, then the PostgreSQL driver is never loaded', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dim-startmem-'));
    try {
      const out = run(`
        const { Database } = require(${JSON.stringify(path.join(DIST, 'db'))});
        const logger = { info() {}, warn() {}, error() {}, debug() {}, child() { return logger; } };
        const db = new Database({ path: ${JSON.stringify(path.join(dir, 'db.sqlite'))}, synchronous: 'NORMAL', logger });
        db.start().then(async () => {
          const loaded = Object.keys(require.cache).filter((f) => f.includes('/node_modules/pg/'));
          await db.stop();
          process.stdout.write(JSON.stringify({ open: true, pg: loaded.length }));
        });
      `);
      expect(JSON.parse(out)).toEqual({ open: true, pg: 0 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when main has set the young generation up, then it stays at its first size however much is allocated', () => {
    const newSpace = (first: string): number =>
      Number(
        run(`
          ${first}
          let keep = [];
          for (let i = 0; i < 2e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 100000) keep = []; }
          const s = require('node:v8').getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
          process.stdout.write(String(s.space_size));
        `),
      );
    const MiB = 1024 * 1024;
    expect(newSpace(`require(${JSON.stringify(path.join(DIST, 'young-generation'))});`)).toBeLessThanOrEqual(2 * MiB);
    // Without it V8 grows the young generation under the same load (so the check above can fail).
    expect(newSpace('')).toBeGreaterThan(4 * MiB);
  });
});
