import crypto from 'node:crypto';
import type { RequestHandler, Response } from 'express';

const VALID_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Gives each request an id (the caller's `X-Request-Id` when it is a sane token, else a new
 * one) and echoes it in the answer; handlers and the error mapper put it in their log lines
 * (requestIdOf). Not AsyncLocalStorage: on Node 20 it turns on promise hooks for every promise,
 * which cost ~10% of single-event ingest throughput when measured (bench:ingest).
 */
export function requestIds(): RequestHandler {
  return (req, res, next) => {
    const given = req.get('x-request-id');
    const requestId = given && VALID_ID.test(given) ? given : crypto.randomBytes(8).toString('hex');
    res.setHeader('X-Request-Id', requestId);
    res.locals.requestId = requestId;
    next();
  };
}

export function requestIdOf(res: Response): string | undefined {
  const id: unknown = res.locals.requestId;
  return typeof id === 'string' ? id : undefined;
}
