import { randomBytes } from 'node:crypto';
import pg from 'pg';

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
