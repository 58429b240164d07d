import { execFile } from 'node:child_process';
import path from 'node:path';

const LOADGEN = path.join(__dirname, 'loadgen.js');

/** What loadgen.js reports: requests answered 2xx and not, by status, events in the 2xx ones. */
export interface LoadResult {
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  events: number;
  elapsed_ms: number;
  /** Requests abandoned unanswered after loadgen's per-request timeout (counted in `failed` too). */
  timed_out?: number;
}

/** Runs the load generator in a process of its own (see loadgen.ts for the options). */
export function loadgen(opts: Record<string, unknown>): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [LOADGEN, JSON.stringify(opts)], { maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err) return reject(new Error(`loadgen failed: ${err.message}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as LoadResult);
    });
  });
}
