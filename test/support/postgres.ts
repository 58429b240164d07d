import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

/**
 * A throw-away PostgreSQL cluster for the suites that run on both engines: started lazily by the
 * first test file that asks (so a SQLite-only run pays nothing), shared by every jest worker of
 * the run through a directory named by the global setup, stopped and removed by the global
 * teardown. Each test file gets databases of its own (`CREATE DATABASE t_<random>`).
 */

export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
export const DATABASES = ['sqlite', 'postgres'] as const;
export type DatabaseKind = (typeof DATABASES)[number];

/** Set by the global setup: where the run's cluster lives once someone starts it. */
const RUN_DIR_VAR = 'DIM_TEST_PG_DIR';

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function run(bin: string, args: string[]): void {
  const exe = path.join(PG_BIN, bin);
  // initdb refuses to run as root: as root, the cluster belongs to the postgres user.
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', exe, ...args]] : [exe, args];
  execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: os.tmpdir() });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** A directory for this run's cluster (for the global setup); nothing is started yet. */
export function prepareRunDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dim-pg-'));
  fs.chmodSync(dir, 0o755);
  process.env[RUN_DIR_VAR] = dir;
  return dir;
}

function runDir(): string {
  // Without the global setup (a single file run by hand with another config), one per process.
  return process.env[RUN_DIR_VAR] ?? prepareRunDir();
}

async function startCluster(dir: string): Promise<string> {
  if (!fs.existsSync(path.join(PG_BIN, 'initdb'))) {
    throw new Error(
      `PostgreSQL 15 is not installed (${PG_BIN}/initdb is missing): the PostgreSQL suites need it. ` +
        'Install it with "apt-get install -y postgresql" (npm test does when run as root).',
    );
  }
  const data = path.join(dir, 'data');
  if (asRoot) execFileSync('chown', ['postgres', dir]);
  run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  const opts = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    // Speed over durability: the cluster is thrown away after the run.
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=400',
  ].join(' ');
  run('pg_ctl', ['-D', data, '-o', opts, '-l', path.join(dir, 'log'), '-w', '-t', '60', 'start']);
  return `postgres://postgres@127.0.0.1:${port}/postgres`;
}

async function waitForFile(file: string, failed: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (fs.existsSync(failed)) throw new Error(fs.readFileSync(failed, 'utf8'));
    if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8');
    if (Date.now() > deadline) throw new Error(`no PostgreSQL cluster in ${path.dirname(file)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let adminUrl: Promise<string> | undefined;

/** The run's cluster (started here if no worker has yet): its `postgres` database as superuser. */
export function postgresAdminUrl(): Promise<string> {
  adminUrl ??= (async () => {
    const dir = runDir();
    const urlFile = path.join(dir, 'url');
    const failed = path.join(dir, 'failed');
    try {
      fs.mkdirSync(path.join(dir, 'lock'));
    } catch {
      return waitForFile(urlFile, failed, 90_000); // another worker is starting it
    }
    try {
      const url = await startCluster(dir);
      fs.writeFileSync(urlFile, url);
      return url;
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
      const msg = `${err instanceof Error ? err.message : String(err)}\n${stderr}`;
      fs.writeFileSync(failed, msg);
      throw new Error(msg);
    }
  })();
  return adminUrl;
}

/** A new, empty database on the run's cluster. */
export async function freshPostgresUrl(): Promise<string> {
  const admin = await postgresAdminUrl();
  const name = `t_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return u.toString();
}

/** App settings for a fresh database of this kind: none for SQLite (the data dir's file). */
export async function databaseEnv(kind: DatabaseKind): Promise<Record<string, string>> {
  return kind === 'postgres' ? { DATABASE_URL: await freshPostgresUrl() } : {};
}

/** For the global teardown: stops the run's cluster if anyone started it, and removes its directory. */
export function stopRunCluster(dir = process.env[RUN_DIR_VAR]): void {
  if (!dir || !fs.existsSync(dir)) return;
  const data = path.join(dir, 'data');
  if (fs.existsSync(path.join(data, 'postmaster.pid'))) {
    try {
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } catch {
      /* already gone */
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
}
