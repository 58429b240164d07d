import crypto from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from './logger';

const VALID_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const ID_BYTES = 8;
const POOL_IDS = 512;

let pool = Buffer.alloc(0);
let poolAt = 0;

/** 16 random hex characters, drawn from a pool: one randomBytes call per 512 requests, not one each. */
function newRequestId(): string {
  if (poolAt >= pool.length) {
    pool = crypto.randomBytes(ID_BYTES * POOL_IDS);
    poolAt = 0;
  }
  const id = pool.toString('hex', poolAt, poolAt + ID_BYTES);
  poolAt += ID_BYTES;
  return id;
}

export interface AccessLog {
  logger: Logger;
  level: 'debug' | 'info';
}

/**
 * Gives each request an id (the caller's `X-Request-Id` when it is a sane token, else a new
 * one) and echoes it in the answer; handlers and the error mapper put it in their log lines
 * (requestLogger, requestIdOf). Not AsyncLocalStorage: on Node 20 it turns on promise hooks for
 * every promise, which cost ~10% of single-event ingest throughput when measured (bench:ingest).
 * With `accessLog`, one `http.request` line per request (method, route, status, duration); pass
 * it only when its level is logged at all, so a request does not pay for a line nobody reads.
 */
export function requestIds(accessLog?: AccessLog): RequestHandler {
  return (req, res, next) => {
    const given = req.get('x-request-id');
    const requestId = given && VALID_ID.test(given) ? given : newRequestId();
    res.setHeader('X-Request-Id', requestId);
    res.locals.requestId = requestId;
    if (accessLog) {
      const start = process.hrtime.bigint();
      res.once('close', () => {
        accessLog.logger[accessLog.level]('http.request', {
          request_id: requestId,
          method: req.method,
          route: routeOf(req),
          status: res.statusCode,
          ...(res.writableFinished ? {} : { aborted: true }),
          duration_ms: Math.round(Number(process.hrtime.bigint() - start) / 1e4) / 100,
        });
      });
    }
    next();
  };
}

export function requestIdOf(res: Response): string | undefined {
  const id: unknown = res.locals.requestId;
  return typeof id === 'string' ? id : undefined;
}

/**
 * `logger` with this request's `request_id` on every line: handlers that log call it when they
 * log, so a request that logs nothing pays nothing.
 */
export function requestLogger(res: Response, logger: Logger): Logger {
  const id = requestIdOf(res);
  return id === undefined ? logger : logger.child({ request_id: id });
}

/** The route that matched (not the raw path: ids would make every request its own label). */
export function routeOf(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof path === 'string') return (req.baseUrl ?? '') + path;
  return 'unmatched';
}
