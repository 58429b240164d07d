import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * A fresh database for one bench scenario on the server at `BENCH_POSTGRES_URL` (a URL whose
 * user may create databases), dropped afterwards; undefined when the variable is unset.
 */
export async function benchDatabase(): Promise<{ url: string; drop(): Promise<void> } | undefined> {
  const admin = process.env.BENCH_POSTGRES_URL;
  if (!admin) return undefined;
  const name = `bench_${randomBytes(5).toString('hex')}`;
  const run = async (statement: string): Promise<void> => {
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await run(`create database ${name}`);
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return { url: u.toString(), drop: () => run(`drop database if exists ${name} with (force)`) };
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

/**
 * `BENCH_POSTGRES_URL=start`: a throw-away PostgreSQL 15 cluster in a temporary directory
 * (initdb + pg_ctl, as the `postgres` user when run as root, since initdb refuses root), with
 * PostgreSQL's default durability (fsync on, synchronous commit): the figures are a real
 * server's. Sets BENCH_POSTGRES_URL to its superuser URL; `stop()` stops it and removes it.
 */
export async function startThrowAwayPostgres(): Promise<{ url: string; stop(): void }> {
  const asRoot = process.getuid?.() === 0;
  const run = (bin: string, args: string[]): void => {
    const exe = path.join(PG_BIN, bin);
    const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', exe, ...args]] : [exe, args];
    execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: os.tmpdir() });
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dim-bench-pg-'));
  fs.chmodSync(dir, 0o755);
  if (asRoot) execFileSync('chown', ['postgres', dir]);
  const data = path.join(dir, 'data');
  run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`;
  run('pg_ctl', ['-D', data, '-o', opts, '-l', path.join(dir, 'log'), '-w', '-t', '60', 'start']);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  process.env.BENCH_POSTGRES_URL = url;
  return {
    url,
    stop: () => {
      run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
