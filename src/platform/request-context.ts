import { AsyncLocalStorage } from 'node:async_hooks';
import crypto from 'node:crypto';
import type { RequestHandler } from 'express';

/** What every log line written while serving a request carries. */
export interface RequestContext {
  requestId: string;
}

export const requestContext = new AsyncLocalStorage<RequestContext>();

const VALID_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Gives each request an id (the caller's `X-Request-Id` when it is a sane token, else a new
 * one), echoes it in the answer, and makes it the context of everything done for the request,
 * so each log line written meanwhile names it (see logger.ts).
 */
export function requestIds(): RequestHandler {
  return (req, res, next) => {
    const given = req.get('x-request-id');
    const requestId = given && VALID_ID.test(given) ? given : crypto.randomBytes(8).toString('hex');
    res.setHeader('X-Request-Id', requestId);
    requestContext.run({ requestId }, next);
  };
}
