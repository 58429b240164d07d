import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App } from '../../src/app';
import { parseConfig } from '../../src/config';
import type { Clock } from '../../src/platform/clock';
import { databaseEnv, type DatabaseKind } from './postgres';

export const API_KEY = 'test-api-key-0123';

/** The secret of a key `dim_<id>_<secret>` (base64url: it may itself hold '_'). */
export function keySecret(key: string): string {
  const secret = key.split('_').slice(2).join('_');
  if (secret.length < 20) throw new Error(`not an API key: ${key}`);
  return secret;
}

export function tempDir(prefix = 'dim-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export { DATABASES, type DatabaseKind } from './postgres';

/** Which engine an app of a test runs on. */
export interface DatabaseOption {
  /**
   * Default: SQLite, or PostgreSQL for a whole run with `DIM_TEST_DATABASE=postgres` (to try any
   * suite there). The suites that must pass on both say so with `describe.each(DATABASES)`.
   */
  database?: DatabaseKind;
}

const databaseByDir = new Map<string, string>();

/**
 * The settings that put an app on `dir`'s database: none for SQLite (the file in the data
 * directory); for PostgreSQL a fresh database the first time, and the same one again for a
 * restart on the same data directory, as the app would find its file again.
 */
export async function databaseEnvFor(dir: string, kind?: DatabaseKind): Promise<Record<string, string>> {
  const k = kind ?? (process.env.DIM_TEST_DATABASE === 'postgres' ? 'postgres' : 'sqlite');
  if (k === 'sqlite') return {};
  let url = databaseByDir.get(dir);
  if (!url) {
    url = (await databaseEnv('postgres')).DATABASE_URL!;
    databaseByDir.set(dir, url);
  }
  // One instance here, but on PostgreSQL the product asks that stores be reachable from every
  // instance: the test's data directory stands for the shared mount.
  return { DATABASE_URL: url, STORE_ONPREM_SHARED: 'true', STORE_PRIVATE_SHARED: 'true', STORE_PUBLIC_SHARED: 'true' };
}

/** An app on a temporary database and data directory, in this process, not listening. */
export async function startApp(
  env: Record<string, string> = {},
  clock?: Clock,
  opts: DatabaseOption = {},
): Promise<{ app: App; dir: string; stop(): Promise<void> }> {
  const dir = env.DATA_DIR ?? tempDir();
  const config = parseConfig({
    DATA_DIR: dir,
    API_KEY,
    LOG_LEVEL: 'silent',
    PORT: '0',
    ...(env.DATABASE_URL === undefined ? await databaseEnvFor(dir, opts.database) : {}),
    ...env,
  });
  const app = new App(config, clock ? { clock } : {});
  await app.start({ listen: false });
  return {
    app,
    dir,
    async stop() {
      await app.stop();
    },
  };
}

/** Polls until `fn` returns a truthy value; never a fixed sleep. */
export async function waitFor<T>(
  fn: () => Promise<T> | T,
  what: string,
  timeoutMs = 15_000,
  everyMs = 20,
): Promise<Exclude<T, undefined | null | false | 0 | ''>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as Exclude<T, undefined | null | false | 0 | ''>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Like startApp, but listening on a free port of 127.0.0.1: for tests that need real sockets. */
export async function startServer(
  env: Record<string, string> = {},
  opts: DatabaseOption = {},
): Promise<{ app: App; dir: string; port: number; url: string; stop(): Promise<void> }> {
  const dir = env.DATA_DIR ?? tempDir();
  const config = parseConfig({
    DATA_DIR: dir,
    API_KEY,
    LOG_LEVEL: 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    ...(env.DATABASE_URL === undefined ? await databaseEnvFor(dir, opts.database) : {}),
    ...env,
  });
  const app = new App(config);
  await app.start();
  return { app, dir, port: app.port, url: `http://127.0.0.1:${app.port}`, stop: () => app.stop() };
}
