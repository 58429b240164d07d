import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import sqlite3 from 'sqlite3';

/**
 * The yardstick for batches: the least a durable ingest route does, with nothing else. Express
 * parses the JSON array, each event is re-serialised (what gets stored), and the batch goes into
 * a SQLite table (WAL, synchronous=FULL, as the product's log) as one multi-row INSERT from a
 * prepared statement reused per row count; 202 once it is committed. No validation, no dataset
 * check, no consumer, no statistics. The product's batch rate over this one's, measured in
 * alternating slices of the same run, is what the machine's load does not move.
 */
export async function startBareDurable(): Promise<{ url: string; close(): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dim-bare-durable-'));
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const d = new sqlite3.Database(path.join(dir, 'bare.sqlite'), (err) => (err ? reject(err) : resolve(d)));
  });
  const exec = (q: string): Promise<void> =>
    new Promise((resolve, reject) => db.exec(q, (err) => (err ? reject(err) : resolve())));
  await exec('pragma journal_mode = wal; pragma synchronous = FULL;');
  await exec(
    'create table events (offset integer primary key autoincrement, dataset_id integer not null, payload text not null, appended_at integer not null)',
  );
  const statements = new Map<number, sqlite3.Statement>();
  const insert = (rows: number): sqlite3.Statement => {
    let s = statements.get(rows);
    if (!s) {
      s = db.prepare(
        `insert into events (dataset_id, payload, appended_at) values ${new Array<string>(rows).fill('(?,?,?)').join(',')}`,
      );
      statements.set(rows, s);
    }
    return s;
  };

  const app = express();
  app.post('/bare-durable', express.json({ limit: '50mb' }), (req, res) => {
    const items = (Array.isArray(req.body) ? req.body : [req.body]) as Array<{ dataset_id: number }>;
    const now = Date.now();
    const params: unknown[] = [];
    for (const e of items) params.push(e.dataset_id, JSON.stringify(e), now);
    insert(items.length).run(params, (err: Error | null) => {
      if (err) res.status(500).end(err.message);
      else res.status(202).end(`{"accepted":${items.length}}`);
    });
  });
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      for (const s of statements.values()) await new Promise<void>((r) => s.finalize(() => r()));
      await new Promise<void>((r) => db.close(() => r()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
