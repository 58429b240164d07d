import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import type { Readable } from 'node:stream';
import dotenv from 'dotenv';

/** `./.env` under the environment (which wins), as `npm start` reads it: PORT, BASE_URL, DATA_DIR, API_KEY. */
export function loadDotEnv(): void {
  dotenv.config({ path: path.resolve('.env'), quiet: true });
}

/** An HTTP answer the CLI reports on: status and parsed JSON (or text). */
export interface Answer {
  status: number;
  body: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    what: string,
  ) {
    const detail = (body as { detail?: unknown } | null)?.detail;
    super(
      `${what}: HTTP ${status}${detail ? ` — ${typeof detail === 'string' ? detail : JSON.stringify(detail)}` : ''}`,
    );
  }
}

/**
 * A small client for a running instance's JSON API: every CLI command goes through the same
 * routes as curl, so it works against a local or remote deployment and never touches the
 * database behind the server's back.
 */
export class Client {
  constructor(
    readonly baseUrl: string,
    private readonly key: string | undefined,
  ) {}

  /**
   * The instance to talk to when --url is not given: BASE_URL, else this machine on PORT (8000
   * by default), read from the environment and `./.env` as `npm start` reads them.
   */
  static defaultUrl(env: NodeJS.ProcessEnv): string {
    if (env.BASE_URL) return env.BASE_URL;
    const port = env.PORT && /^\d{1,5}$/.test(env.PORT.trim()) && env.PORT.trim() !== '0' ? env.PORT.trim() : '8000';
    return `http://localhost:${port}`;
  }

  /** The key from --key, API_KEY, or the file a local instance generated (DATA_DIR/api-key). */
  static resolveKey(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
    if (flag) return flag;
    if (env.API_KEY) return env.API_KEY;
    const file = path.join(env.DATA_DIR ?? './data', 'api-key');
    try {
      return fs.readFileSync(file, 'utf8').trim() || undefined;
    } catch {
      return undefined;
    }
  }

  request(
    method: string,
    p: string,
    body?: unknown,
    opts: { contentType?: string; stream?: Readable; length?: number } = {},
  ): Promise<Answer> {
    const url = new URL(p, this.baseUrl);
    const lib = url.protocol === 'https:' ? https : http;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.key) headers['x-api-key'] = this.key;
    let payload: Buffer | undefined;
    if (opts.stream) {
      headers['content-type'] = opts.contentType ?? 'application/octet-stream';
      if (opts.length !== undefined) headers['content-length'] = String(opts.length);
    } else if (body !== undefined) {
      payload = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      headers['content-type'] = opts.contentType ?? 'application/json';
      headers['content-length'] = String(payload.length);
    }
    return new Promise((resolve, reject) => {
      const req = lib.request(url, { method, headers }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : null;
          } catch {
            /* not JSON: keep the text */
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on('error', reject);
      });
      req.on('error', (err) => reject(new Error(`${method} ${url.href}: ${err.message}`)));
      if (opts.stream) opts.stream.pipe(req);
      else req.end(payload);
    });
  }

  /** Like request(), but a non-2xx answer throws an ApiError naming what was attempted. */
  async ok<T = unknown>(
    what: string,
    method: string,
    p: string,
    body?: unknown,
    opts?: Parameters<Client['request']>[3],
  ): Promise<T> {
    const a = await this.request(method, p, body, opts);
    if (a.status < 200 || a.status >= 300) throw new ApiError(a.status, a.body, what);
    return a.body as T;
  }
}
