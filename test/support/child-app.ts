import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { API_KEY } from './harness';

const MAIN = path.resolve(__dirname, '../../dist/src/main.js');

export interface ChildApp {
  proc: ChildProcess;
  port: number;
  url: string;
  output(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

/** The real server (`node dist/src/main.js`) as a child process, as `npm start` runs it. */
export async function spawnApp(env: Record<string, string>, timeoutMs = 30_000): Promise<ChildApp> {
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first (npm test does)`);
  const proc = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', API_KEY, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((resolve) =>
    proc.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the app did not start in ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (): void => {
      const m = /listening on http:\/\/localhost:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.stdout.off('data', onData);
        resolve(Number(m[1]));
      }
    };
    proc.stdout.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the app exited (${code}) before listening:\n${out}`));
    });
  });
  return { proc, port, url: `http://127.0.0.1:${port}`, output: () => out, exited };
}
